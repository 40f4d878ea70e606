// The body of tools/solc: forwards a standard-JSON compile to solc-js.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const args = process.argv.slice(2);
if (args.includes('--version')) {
  // Forge reads the version from the last line, after "Version: ".
  process.stdout.write('solc, the solidity compiler commandline interface\n');
  process.stdout.write(`Version: ${solc.version()}\n`);
  process.exit(0);
}
if (!args.includes('--standard-json')) {
  process.stderr.write('tools/solc: only --version and --standard-json are supported\n');
  process.exit(2);
}

// Forge sends every source's content; the callback only serves a file it left out.
const roots = [process.cwd()];
const basePath = args.indexOf('--base-path');
if (basePath >= 0 && args[basePath + 1]) roots.unshift(args[basePath + 1]);
function findImports(p) {
  for (const root of roots) {
    const full = path.resolve(root, p);
    if (fs.existsSync(full)) return { contents: fs.readFileSync(full, 'utf8') };
  }
  return { error: `File not found: ${p}` };
}

const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
