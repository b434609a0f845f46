// bench/evm's transaction baseline: the pinned ethers (tests/onchain's
// node_modules) sends COUNT value transfers from ganache's first account
// to URL.  Signing happens before the clock starts; timed: each signed
// transfer sent with eth_sendRawTransaction, in nonce order, then every
// receipt fetched until all are in.  Prints ethers_txs_s= and
// ethers_txs_per_s=.
//
// usage: node bench/evm/ethers_send.mjs URL COUNT
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { ethers } = createRequire(path.join(root, "tests/onchain/package.json"))("ethers");

const KEY0 = "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d";
const GWEI = 1000000000n;

const [url, countText] = process.argv.slice(2);
const count = Number(countText);
const provider = new ethers.JsonRpcProvider(url, 1337, { staticNetwork: true, batchMaxCount: 1 });
const wallet = new ethers.Wallet(KEY0);
const nonce = await provider.getTransactionCount(wallet.address, "pending");

const signed = [];
for (let i = 0; i < count; i++) {
        const to = "0xbe" + "00".repeat(18) + ((i + 1) & 0xff).toString(16).padStart(2, "0");
        signed.push(await wallet.signTransaction({
                type: 2, chainId: 1337, nonce: nonce + i, to, value: 1n, gasLimit: 21000n,
                maxPriorityFeePerGas: GWEI, maxFeePerGas: 20n * GWEI,
        }));
}

const start = process.hrtime.bigint();
const hashes = [];
for (const raw of signed)
        hashes.push(await provider.send("eth_sendRawTransaction", [raw]));
for (const hash of hashes) {
        while (!(await provider.send("eth_getTransactionReceipt", [hash])))
                await new Promise((resolve) => setTimeout(resolve, 5));
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log(`ethers_txs_s=${seconds.toFixed(3)} ethers_txs_per_s=${(count / seconds).toFixed(1)}`);
