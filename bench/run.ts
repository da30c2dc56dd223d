// npm run bench -- [name ...]: runs the named benchmarks (default: all) and prints their figures.
const BENCHES: Record<string, () => Promise<void>> = {
    fabric: () => require("./fabric").main(),
    boot: () => require("./boot").main(),
    fidelity: () => require("./fidelity").main(),
};

async function run(names: string[]): Promise<void> {
    for (const n of names.length ? names : Object.keys(BENCHES)) {
        const b = BENCHES[n];
        if (!b) throw new Error(`unknown bench '${n}' (have: ${Object.keys(BENCHES).join(", ")})`);
        console.log(`== ${n}`);
        await b();
    }
}

run(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(1);
});
