#!/usr/bin/env bash
# @loam/sdk installed the way a user installs it: packs packages/sdk (`npm pack`, which bundles the
# @loam/api declarations into it: scripts/sdk-pack-types.mjs), installs the tarball alone into an
# empty project outside the monorepo, type-checks the README quickstart (and that the types are real,
# not `any`) and runs it against a live Loam started by sdks/testserver.mjs.
#   scripts/test-sdk-pack.sh           # needs `npm run build` (built here when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [ ! -f packages/cli/dist/index.js ] || [ ! -f packages/server/dist/app.js ] || [ ! -f packages/sdk/dist/index.d.ts ]; then
  echo "sdk-pack: building Loam (npm run build)"
  npm run build >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/loam-sdk-pack-XXXXXX")
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true # the launcher stops Loam and removes its data directory
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "sdk-pack: npm pack packages/sdk"
tarball=$(npm pack -w packages/sdk --pack-destination "$work" --silent | tail -n 1)
tarball="$work/$(basename "$tarball")"
tar tzf "$tarball" >"$work/files.txt"
grep -q '^package/dist/api/index.d.ts$' "$work/files.txt" || { echo "sdk-pack: the tarball lacks the bundled @loam/api types" >&2; exit 1; }
mkdir "$work/unpacked" && tar xzf "$tarball" -C "$work/unpacked"
if grep -rn --include='*.d.ts' "@loam/api" "$work/unpacked/package/dist"; then
  echo "sdk-pack: the packed declarations still import @loam/api" >&2
  exit 1
fi

# The empty project: the tarball, plus TypeScript and Node's types at the monorepo's versions.
app="$work/app"
mkdir -p "$app/src"
version_of() { node -p "require('$root/node_modules/$1/package.json').version"; }
cat >"$app/package.json" <<JSON
{ "name": "loam-sdk-pack-check", "private": true, "type": "module" }
JSON
cat >"$app/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "noUnusedLocals": false,
    "types": ["node"],
    "outDir": "out",
    "rootDir": "src"
  },
  "include": ["src"]
}
JSON
echo "sdk-pack: npm install $(basename "$tarball") into an empty project"
(cd "$app" && npm install --no-audit --no-fund --silent "$tarball" "typescript@$(version_of typescript)" "@types/node@$(version_of @types/node)")
[ ! -e "$app/node_modules/@loam/api" ] || { echo "sdk-pack: @loam/api was installed; the SDK must not need it" >&2; exit 1; }

# The quickstart: the first ```ts block under "## Quickstart" of the README, exactly.
awk '/^## Quickstart/{q=1; next} q && /^## /{exit} q && /^```ts$/{c=1; next} c && /^```$/{exit} c{print}' \
  packages/sdk/README.md >"$app/src/quickstart.ts"
[ -s "$app/src/quickstart.ts" ] || { echo "sdk-pack: no \`\`\`ts block under ## Quickstart in packages/sdk/README.md" >&2; exit 1; }
# The types are the server's, not `any`: a wrong one must be an error.
cat >"$app/src/types.ts" <<'TS'
import { APIPromise, type Dataset, Loam, NotFoundError } from '@loam/sdk';
import { Loam as NodeLoam } from '@loam/sdk/node';

export async function check(loam: Loam): Promise<unknown[]> {
  const call: APIPromise<Dataset> = loam.datasets.get('ds_1');
  const { data, response } = await call.withResponse();
  const name: string = data.name;
  // @ts-expect-error a dataset's name is a string
  const wrong: number = data.name;
  // @ts-expect-error no such method
  loam.datasets.nope();
  const users = await loam.admin.users.list().toArray();
  return [name, wrong, response.headers.get('etag'), users[0]?.email, new NodeLoam(), NotFoundError];
}
TS
echo "sdk-pack: tsc (the quickstart and the types)"
(cd "$app" && npx --no-install tsc -p .)
(cd "$app" && node out/types.js) # both entries (@loam/sdk, @loam/sdk/node) load at run time

echo "sdk-pack: starting Loam (sdks/testserver.mjs)"
coproc server { exec node sdks/testserver.mjs; }
server_pid=$server_PID
read -r -t 90 line <&"${server[0]}" || { echo "sdk-pack: sdks/testserver.mjs did not start Loam" >&2; exit 1; }
url=$(node -p 'JSON.parse(process.argv[1]).url' "$line")
key=$(node -p 'JSON.parse(process.argv[1]).api_key' "$line")

echo "sdk-pack: running the README quickstart against $url"
out=$(cd "$app" && LOAM_API_BASE_URL=$url LOAM_API_KEY=$key timeout 120 node out/quickstart.js)
printf '%s\n' "$out"
grep -q 'from the quickstart' <<<"$out" || { echo "sdk-pack: the quickstart did not print the updated dataset" >&2; exit 1; }
echo "sdk-pack: passed"
