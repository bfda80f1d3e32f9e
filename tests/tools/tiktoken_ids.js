// tiktoken_ids.js RANKS PATTERN CASES: the ids that OpenAI's tiktoken (the
// npm package, its Rust core in WebAssembly) gives for the "text" of each
// line of CASES (JSON Lines) with the ranks file RANKS and the regex
// PATTERN, one line of space-separated ids per case. The reference for
// tests/tokenize-regex.t; needs node and the tiktoken package (NODE_PATH).
"use strict";
const fs = require("fs");
const { Tiktoken } = require("tiktoken/lite");
const [ranks, pattern, cases] = process.argv.slice(2);
const enc = new Tiktoken(fs.readFileSync(ranks, "utf8"), {}, pattern);
const out = [];
for (const line of fs.readFileSync(cases, "utf8").split("\n")) {
	if (line === "")
		continue;
	out.push(Array.from(enc.encode_ordinary(JSON.parse(line).text)).join(" "));
}
enc.free();
process.stdout.write(out.join("\n") + "\n");
