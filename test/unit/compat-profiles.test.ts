import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { behaviourChanges, flagsKnownBy, profileEnv, readProfile } from '../../src/istio/compat-profiles.js';

// The shape of Istio's own manifests/helm-profiles/compatibility-version-*.yaml (comments included).
const P125 = `pilot:
  env:
    # 1.27 behavioral changes
    ENABLE_NATIVE_SIDECARS: "false"
    # 1.28 behavioral changes
    DISABLE_SHADOW_HOST_SUFFIX: "false"
     # 1.29 behavioral changes
    DISABLE_TRACK_REMAINING_CB_METRICS: "false"

cni:
  ambient:
    # 1.29 behavioral changes - reconcileIptablesOnStartup was false by default in 1.25
    reconcileIptablesOnStartup: false
`;
const P128 = `pilot:
  env:
    DISABLE_TRACK_REMAINING_CB_METRICS: "false"
`;

describe("Istio's compatibility profiles, read from the module", () => {
  it("reads each istiod flag with the release its comment names, and the other charts' values apart", () => {
    const p = readProfile('1.25', P125);
    expect(p.pilotEnv).toEqual([
      { flag: 'ENABLE_NATIVE_SIDECARS', value: 'false', changedIn: '1.27' },
      { flag: 'DISABLE_SHADOW_HOST_SUFFIX', value: 'false', changedIn: '1.28' },
      { flag: 'DISABLE_TRACK_REMAINING_CB_METRICS', value: 'false', changedIn: '1.29' },
    ]);
    expect(p.otherCharts).toEqual(['cni.ambient.reconcileIptablesOnStartup']);
  });

  it('lists each change once, with every profile that keeps the old behaviour; an unnamed release is the one after the newest such profile', () => {
    const changes = behaviourChanges([readProfile('1.25', P125), readProfile('1.28', P128)]);
    expect(changes.map((c) => `${c.changedIn} ${c.flag} ${c.profiles.join(',')}`)).toEqual(['1.27 ENABLE_NATIVE_SIDECARS 1.25', '1.28 DISABLE_SHADOW_HOST_SUFFIX 1.25', '1.29 DISABLE_TRACK_REMAINING_CB_METRICS 1.25,1.28']);
    expect(behaviourChanges([readProfile('1.28', P128)])[0]!.changedIn).toBe('1.29');
  });

  it('gives a profile as istiod environment, and names the profiles there are for one that is not', () => {
    const profiles = [readProfile('1.25', P125), readProfile('1.28', P128)];
    expect(profileEnv(profiles, 'compat-1.28')).toEqual({ DISABLE_TRACK_REMAINING_CB_METRICS: 'false' });
    expect(() => profileEnv(profiles, '1.22')).toThrow(/no compatibility profile 1\.22[\s\S]*/);
  });
});

describe('the flags a build of Istio knows', () => {
  it("are the ones its pilot/pkg/features registers, on one line or over several", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'efl-features-'));
    await mkdir(join(dir, 'pilot/pkg/features'), { recursive: true });
    await writeFile(join(dir, 'pilot/pkg/features/pilot.go'), 'var A = env.Register("PILOT_A", false, "").Get()\nvar B = env.Register(\n\t"DISABLE_B",\n\tfalse,\n).Get()\nvar C = env.RegisterBoolVar("ENABLE_C", true, "").Get()\nvar D = env.Register[int64]("INT_D", 1, "").Get()\nvar E = registerAmbient("AMBIENT_E", false, "")\n// "NOT_A_FLAG" in a comment\n');
    expect([...(await flagsKnownBy(dir))].sort()).toEqual(['AMBIENT_E', 'DISABLE_B', 'ENABLE_C', 'INT_D', 'PILOT_A']);
    await rm(dir, { recursive: true, force: true });
  });

  it('are an error, not an empty answer, when the module has none to read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'efl-features-'));
    await expect(flagsKnownBy(dir)).rejects.toThrow(/no istiod flag is registered/);
    await rm(dir, { recursive: true, force: true });
  });
});
