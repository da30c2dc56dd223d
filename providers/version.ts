import * as fs from "fs";
import * as path from "path";

/** netbed's version from its package.json (found upward from here: works from dist/ and from source). */
export function packageVersion(): string {
    for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
        const f = path.join(dir, "package.json");
        if (fs.existsSync(f)) {
            const pkg = JSON.parse(fs.readFileSync(f, "utf8"));
            if (pkg.name === "netbed") return pkg.version;
        }
    }
    throw new Error("netbed's package.json was not found above " + __dirname);
}
