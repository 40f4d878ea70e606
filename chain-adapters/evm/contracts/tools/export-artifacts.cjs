// Writes ../artifacts/<Contract>.json ({abi, bytecode}) from forge's out/, for the Rust bindings.
// With --check, compares instead and exits 1 when a committed artifact is stale.
'use strict';
const fs = require('fs');
const path = require('path');

// The last two are test fixtures (contracts/test/), for the devnet's relayer tests only.
const contracts = ['Usd1Token', 'MessageTransmitter', 'TokenMessenger', 'StringErrorTransmitter', 'TestRecipient'];
const root = path.resolve(__dirname, '..');
const dest = path.resolve(root, '..', 'artifacts');
const check = process.argv.includes('--check');
let stale = 0;
fs.mkdirSync(dest, { recursive: true });
for (const name of contracts) {
  const built = JSON.parse(fs.readFileSync(path.join(root, 'out', `${name}.sol`, `${name}.json`), 'utf8'));
  const artifact = { abi: built.abi, bytecode: { object: built.bytecode.object } };
  const text = JSON.stringify(artifact, null, 1) + '\n';
  const file = path.join(dest, `${name}.json`);
  if (check) {
    const committed = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (committed !== text) {
      console.error(`stale artifact: ${path.relative(process.cwd(), file)} differs from a fresh compile`);
      stale++;
    }
  } else {
    fs.writeFileSync(file, text);
  }
}
if (stale) {
  console.error('run chain-adapters/evm/contracts/build.sh to refresh the artifacts');
  process.exit(1);
}
console.log(check ? 'contract artifacts match a fresh compile' : `wrote ${contracts.length} artifacts to ${dest}`);
