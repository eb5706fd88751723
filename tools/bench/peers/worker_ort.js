// ONNX Runtime's worker for the peer benchmark (protocol: tools/bench/peers/PROTOCOL.md).
//
//   node worker_ort.js --threads N --modules DIR
//
// DIR is the node_modules folder holding onnxruntime-node (run-peer-bench.sh
// installs it into .cache/peers/node). Sessions are set up as a user after
// top CPU speed would: intra-op threads = N, inter-op 1, sequential execution,
// all graph optimizations (ONNX Runtime then fuses Conv + BatchNorm + Relu + Add
// and runs its MLAS kernels in its own NCHWc blocked layout).
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');

function option(name) {
  const i = process.argv.indexOf(name);
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`worker_ort: ${name} is required`);
  return process.argv[i + 1];
}
const threads = Number(option('--threads'));
const modules = path.resolve(option('--modules'));
const ort = require(path.join(modules, 'onnxruntime-node'));
const ortVersion = require(path.join(modules, 'onnxruntime-node', 'package.json')).version;

const models = new Map();  // key -> {session, feeds, input}

function seconds(t0) { return Number(process.hrtime.bigint() - t0) * 1e-9; }

const commands = {
  async load(c) {
    const t0 = process.hrtime.bigint();
    const session = await ort.InferenceSession.create(c.onnx, {
      intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const dims = c.shape || [c.batch, 3, 224, 224];  // other input sizes: tests of `scratchnet export`
    const input = new Float32Array(dims.reduce((a, b) => a * b, 1));
    const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', input, dims)};
    models.set(c.key, {session, feeds, input, output: session.outputNames[0]});
    return {load_s: seconds(t0)};
  },
  async run(c) {
    const m = get(c.key);
    const bytes = fs.readFileSync(c.input);
    if (bytes.length !== m.input.byteLength) {
      throw new Error(`${c.input}: ${bytes.length} bytes, expected ${m.input.byteLength}`);
    }
    new Uint8Array(m.input.buffer).set(bytes);
    const t0 = process.hrtime.bigint();
    const y = (await m.session.run(m.feeds))[m.output];
    const dt = seconds(t0);
    fs.writeFileSync(c.output, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
    return {seconds: dt, shape: y.dims};
  },
  async time(c) {
    const m = get(c.key);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < c.calls; ++i) await m.session.run(m.feeds);
    return {seconds: seconds(t0)};
  },
  async unload(c) {
    const m = models.get(c.key);
    if (m) await m.session.release();
    models.delete(c.key);
    return {};
  },
  async info(c) {
    const environment = {};
    for (const k of c.env_keys || []) environment[k] = k in process.env ? process.env[k] : null;
    return {engine: 'onnxruntime', threads, environment,
            versions: {onnxruntime: ortVersion, node: process.version},
            session_options: {intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
                              graphOptimizationLevel: 'all'}};
  },
};

function get(key) {
  const m = models.get(key);
  if (!m) throw new Error(`no model loaded under key ${key}`);
  return m;
}

async function main() {
  const rl = readline.createInterface({input: process.stdin, terminal: false});
  for await (const line of rl) {  // one command at a time, in order
    let answer;
    try {
      const c = JSON.parse(line);
      if (c.cmd === 'quit') break;
      if (!(c.cmd in commands)) throw new Error(`unknown command ${c.cmd}`);
      answer = await commands[c.cmd](c);
      answer.ok = true;
    } catch (e) {  // report and keep serving: the driver decides
      answer = {ok: false, error: `worker_ort: ${e.message}`};
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
  }
  process.exit(0);
}
main();
