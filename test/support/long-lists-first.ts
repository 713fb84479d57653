/**
 * The order vitest starts test files in: the long lists of phase runs first (the scenario suite
 * and the --istio suite on each backend, honesty, the upgrade check), each project still in its
 * group. Without earlier results vitest starts larger files first, and these are five-line
 * files: on a clean clone they started last, after 95 s of small files running a lab or two at a
 * time (measured in a clean-clone .ci/run's scheduler trace).
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const LONG_LISTS = [/\/scenarios-(netns|docker)\.test\.ts$/, /\/istio-(netns|docker)\.test\.ts$/, /\/honesty\.test\.ts$/, /\/upgrade-check\.test\.ts$/];

export class LongListsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => f.project.config.sequence.groupOrder * 2 + (LONG_LISTS.some((re) => re.test(f.moduleId)) ? 0 : 1);
    return sorted.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}
