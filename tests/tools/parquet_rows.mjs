// parquet_rows.mjs FILE: the rows of a parquet file as JSON Lines, read by
// hyparquet (with hyparquet-compressors for every codec): an independent
// reader to check tests/tools/mkparquet's files against. Needs node and
// both npm packages, found through NODE_PATH.
import { createRequire } from "module";
import { pathToFileURL } from "url";
import { readFileSync } from "fs";

const require = createRequire(import.meta.url);
const load = (name) => import(pathToFileURL(require.resolve(name)).href);
const { parquetReadObjects } = await load("hyparquet");
const { compressors } = await load("hyparquet-compressors");
const bytes = readFileSync(process.argv[2]);
const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
const rows = await parquetReadObjects({ file, compressors });
process.stdout.write(rows.map((r) => JSON.stringify(r) + "\n").join(""));
