import * as fs from "node:fs";
import * as path from "node:path";

/** The directory of netbed's package.json, found upward from here: works from dist/ and from source. */
export function packageRoot(): string {
    for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
        const f = path.join(dir, "package.json");
        if (fs.existsSync(f) && JSON.parse(fs.readFileSync(f, "utf8")).name === "netbed") return dir;
    }
    throw new Error(`netbed's package.json was not found above ${__dirname}`);
}

/** netbed's version from its package.json. */
export function packageVersion(): string {
    return JSON.parse(fs.readFileSync(path.join(packageRoot(), "package.json"), "utf8")).version;
}
