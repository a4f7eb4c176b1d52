import { Command } from 'commander';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('quantum-apply').description(
    'Permit-gated exit execution for Binance USD-M futures',
  );
  program.exitOverride();
  program
    .command('demo')
    .description('bounded in-process demo of the whole pipeline')
    .action(() => {
      process.stdout.write('quantum-apply demo: the pipeline is being assembled; nothing to run yet.\n');
    });
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode;
    return typeof code === 'number' ? code : 1;
  }
}
