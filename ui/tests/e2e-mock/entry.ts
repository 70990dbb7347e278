// Bundled into an init script: installs mockIPC with the fixtures before the
// app's own scripts run. The scenario comes from window.__SCENARIO__.
import { install, type Scenario } from './fixtures';

install((window as unknown as { __SCENARIO__?: Scenario }).__SCENARIO__ ?? {});
