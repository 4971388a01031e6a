/**
 * `npm run bench`: speed and memory figures, never asserted by tests. Each part is its own file and
 * prints its own table; `npm run bench -- model` runs one part.
 */
const parts: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  speed: () => import("./speed.js"),
  input: () => import("./input.js"),
  io: () => import("./io.js"),
  model: () => import("./model.js"),
  qemu: () => import("./qemu.js"),
  runner: () => import("./runner.js"),
  fuzz: () => import("./fuzz.js"),
  "fuzz-qemu": () => import("./fuzz-qemu.js"),
  jobs: () => import("./jobs.js"),
};

const wanted = process.argv.slice(2);
for (const name of wanted.length > 0 ? wanted : Object.keys(parts)) {
  const load = parts[name];
  if (!load) {
    console.error(`bench: unknown part '${name}' (parts: ${Object.keys(parts).join(", ")})`);
    process.exit(2);
  }
  console.log(`\n## ${name}\n`);
  await (await load()).run();
}
