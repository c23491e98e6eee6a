import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The folder of dynalake's own package.json: the repository when run from source (`lib/`), from
 * the build (`dist/lib/`), or where npm installed the package (`node_modules/dynalake/`). Files
 * shipped beside the code, such as the Glue scripts, are found from here, not from `__dirname`,
 * whose depth differs between source and build.
 */
export function packageRoot(from: string = __dirname): string {
  for (let folder = from; ; folder = dirname(folder)) {
    const manifest = join(folder, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'dynalake') return folder;
    if (dirname(folder) === folder) throw new Error(`no package.json of dynalake above ${from}`);
  }
}
