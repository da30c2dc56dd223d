// SecurityProfile's wrapper argv and Landlock scopes, rendered without a host.
import { strict as assert } from "node:assert";
import { scopesFor, withRootLauncherArgs, wrapperArgv } from "../../../core/security";

describe("SecurityProfile wrapper (pure)", () => {
    const spec = {
        prlimit: "/usr/bin/prlimit",
        setpriv: "/usr/bin/setpriv",
        launcher: "/c/netbed-confine",
        rlimits: {},
        capabilities: [],
        user: 999,
        group: 995,
        landlock: {
            enabled: true,
            mode: "strict" as const,
            ro: [],
            rw: [],
            exec: [],
            bindPorts: [],
            connectPorts: [],
            denyTcp: false,
            scopes: scopesFor(undefined, 6),
        },
    };

    it("starts with the launcher's root stage, then drops to the uid with its supplementary groups (or none) and no capabilities", () => {
        const w = wrapperArgv({ ...spec, groups: [995, 994] });
        assert.deepEqual(w.slice(0, 3), ["/c/netbed-confine", "--no-landlock", "--"]);
        assert.deepEqual(w.slice(3, 10), [
            "/usr/bin/setpriv",
            "--no-new-privs",
            "--regid=995",
            "--groups=995,994",
            "--reuid=999",
            "--inh-caps=-all",
            "--ambient-caps=-all",
        ]);
        assert.ok(wrapperArgv(spec).includes("--clear-groups"));
        assert.deepEqual(w.slice(-5), ["--scope", "abstract-unix", "--scope", "signal", "--"]);
        const vm = withRootLauncherArgs(w, ["--tap", "tap0=3"]);
        assert.deepEqual(vm.slice(0, 5), ["/c/netbed-confine", "--no-landlock", "--tap", "tap0=3", "--"]);
        assert.throws(
            () => withRootLauncherArgs(w.slice(3), ["--tap", "tap0=3"]),
            /no root stage \(a profile made by an older netbed\): replace the SecurityProfile/,
        );
    });

    it("takes both scopes by default from ABI 6, none below; a list given is kept", () => {
        assert.deepEqual(scopesFor(undefined, 7), ["abstract-unix", "signal"]);
        assert.deepEqual(scopesFor(undefined, 5), []);
        assert.deepEqual(scopesFor(["signal"], 7), ["signal"]);
    });
});
