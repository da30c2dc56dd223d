// The local stack's testbed and matrix at fixed repetitions, with the guests' boot times: run it in
// two checkouts in turn to compare them side by side in one session (the guest agent over the
// network against the virtio-serial port with the VMM confined by default).
//   npx ts-node --transpile-only perf/control-channel.ts [REPETITIONS]   (default 2)
// In an older checkout, copy this file into its perf/ first: it uses only what both have.
import { machine } from "./machine";
import { localConfig, openTestbed, runMatrix, timed } from "./testbed";

interface Boot {
    guestSeconds: number;
    wallSeconds: number;
}

async function main(repetitions: number): Promise<void> {
    console.log(machine());
    const local = localConfig()["testbed:benchmark"];
    const { precision: _, ...fixed } = local.settings;
    const settings = { ...fixed, repetitions };
    const tb = await openTestbed(`cc${process.pid.toString(36)}`);
    try {
        const [up, upSeconds] = await timed(() => tb.stack.up({ onOutput: tb.engine.onOutput, color: "never" }));
        const guests = up.outputs.guests.value as Record<string, { bootTime: Boot }>;
        const boots = Object.entries(guests).map(([k, g]) => `${k} guest ${g.bootTime.guestSeconds.toFixed(2)} s, wall ${g.bootTime.wallSeconds.toFixed(2)} s`);
        console.log(`testbed up: ${upSeconds.toFixed(1)} s; boots: ${boots.join("; ")}`);
        const m = await runMatrix(tb, { ...local, settings });
        const failed = m.doc.cells.filter((c) => c.status !== "ok").length;
        console.log(
            `matrix: ${m.doc.cells.length} cells x (${settings.warmup} warm-up + ${repetitions}) at ${settings.duration} s: up ${m.wall.toFixed(1)} s, run ${m.oh.wallSeconds.toFixed(1)} s for ${m.oh.measuredSeconds.toFixed(1)} s measured (ratio ${m.oh.ratio.toFixed(2)}); failed cells ${failed}`,
        );
        for (const [k, v] of Object.entries(m.oh.toolStartStopByTest)) console.log(`  ${k.padEnd(10)} ${JSON.stringify(v)}`);
    } finally {
        await tb.close();
    }
}

main(Number(process.argv[2] ?? 2)).catch((e) => {
    console.error(e);
    process.exit(1);
});
