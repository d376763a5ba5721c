/**
 * The part of the stack context the Backups overview uses (core/backups/overview OverviewContext), over a
 * test's own tool runtime (a recording runtime whose commands the test checks, a host runtime of a throwaway
 * cluster): the site is read by core's readSite through that runtime, as resolveStack does through its tools.
 */
import type { StackConfig } from '../../src/core/infra';
import type { ToolRuntime } from '../../src/core/runtime';
import type { OverviewContext } from '../../src/core/backups/overview';
import { readSite, type SiteSettings } from '../../src/core/stack/site';

export function overviewContext(stack: StackConfig, runtime: ToolRuntime, settings?: SiteSettings): OverviewContext {
  return {
    stack,
    site: () => readSite(stack, { settings, runtime }),
    infraSite: () => readSite(stack, { settings }),
  };
}
