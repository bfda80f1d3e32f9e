// bench/tokenize_peer.js - the reference implementations, timed the way
// bench/tokenize.sh times bonsai-tokenize: encoding only (mb_s, mb_cpu_s),
// and the whole process, tokenizer load and reading included
// (mb_cpu_s_total: the text's MB per CPU second of the process so far).
// Needs the npm packages tokenizers and tiktoken (NODE_PATH).
//   node tokenize_peer.js hf TOKENIZER.json DOCS.jsonl [batch]
//   node tokenize_peer.js tiktoken NAME DOCS.jsonl
//   node tokenize_peer.js hf-train TEXT.txt VOCAB   (ByteLevel BPE, cl100k split)
const fs = require('fs');
const [mode, a, b, c] = process.argv.slice(2);
const now = () => Number(process.hrtime.bigint()) / 1e9;
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

function docs(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter(l => l.length).map(l => JSON.parse(l).text);
}

(async () => {
  if (mode === 'hf') {
    const { Tokenizer } = require('tokenizers');
    const t = Tokenizer.fromFile(a);
    const texts = docs(b);
    const bytes = texts.reduce((s, x) => s + Buffer.byteLength(x), 0);
    let n = 0;
    const t0 = now(), c0 = cpu();
    if (c === 'batch') {
      for (let i = 0; i < texts.length; i += 256) {
        const es = await t.encodeBatch(texts.slice(i, i + 256), { addSpecialTokens: false });
        for (const e of es) n += e.getIds().length;
      }
    } else {
      for (const s of texts) n += (await t.encode(s, null, { addSpecialTokens: false })).getIds().length;
    }
    const dt = now() - t0, dc = cpu() - c0;
    console.log(JSON.stringify({ impl: 'hf-tokenizers' + (c === 'batch' ? '-batch' : ''), tokens: n, bytes, seconds: dt, mb_s: bytes / 1e6 / dt, mb_cpu_s: bytes / 1e6 / dc, mb_cpu_s_total: bytes / 1e6 / cpu() }));
  } else if (mode === 'tiktoken') {
    const { get_encoding } = require('tiktoken');
    const t = get_encoding(a);
    const texts = docs(b);
    const bytes = texts.reduce((s, x) => s + Buffer.byteLength(x), 0);
    let n = 0;
    const t0 = now(), c0 = cpu();
    for (const s of texts) n += t.encode_ordinary(s).length;
    const dt = now() - t0, dc = cpu() - c0;
    console.log(JSON.stringify({ impl: 'tiktoken-' + a, tokens: n, bytes, seconds: dt, mb_s: bytes / 1e6 / dt, mb_cpu_s: bytes / 1e6 / dc, mb_cpu_s_total: bytes / 1e6 / cpu() }));
  } else if (mode === 'hf-train') {
    const { Tokenizer } = require('tokenizers');
    const pat = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    const cfg = { version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
      pre_tokenizer: { type: 'Sequence', pretokenizers: [
        { type: 'Split', pattern: { Regex: pat }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] },
      post_processor: null, decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
        fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: {}, merges: [] } };
    const t = Tokenizer.fromString(JSON.stringify(cfg));
    const t0 = now();
    t.train([a]); // the BPE model's default trainer: 30,000 tokens, min_frequency 0
    const dt = now() - t0;
    console.log(JSON.stringify({ impl: 'hf-train', vocab: t.getVocabSize(true), seconds: dt }));
  }
})();
