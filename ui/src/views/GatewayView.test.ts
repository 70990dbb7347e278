import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import GatewayView from './GatewayView.svelte';
import { drop } from '../lib/state.svelte';
import { gateway, view } from '../test/fixtures';

function backend(extra: Record<string, () => unknown>) {
  mockIPC((cmd) => {
    if (cmd in extra) return extra[cmd]!();
    if (cmd === 'list_gateways') return [gateway];
    if (cmd === 'gateway_license') return view;
    if (cmd === 'floating_status') return null;
    return null;
  });
}

describe('GatewayView', () => {
  it('renders the details list as edge consoles do', async () => {
    backend({});
    render(GatewayView);
    await screen.findByText('LIC-1');
    for (const label of ['Issued At', 'Expire At', 'Tags Usage', 'Connections', 'Enabled Plugins', 'Kind', 'Hardware identifier']) {
      expect(screen.getByText(label)).toBeTruthy();
    }
    expect(screen.getByText('3,120 / 5,000')).toBeTruthy();
    expect(screen.getByText('opc-ua')).toBeTruthy();
  });

  it('keeps an upload error on screen and the previous license displayed', async () => {
    backend({
      upload_license_dialog: () => {
        throw { code: 'LICENSE_EXPIRED', message: 'the license expired on 2025-01-01; nothing was replaced' };
      },
    });
    render(GatewayView);
    await screen.findByText('LIC-1');
    await fireEvent.click(screen.getByRole('button', { name: 'Upload License' }));
    const alert = await screen.findByRole('alert');
    expect(alert.getAttribute('data-code')).toBe('LICENSE_EXPIRED');
    expect(alert.querySelector('strong')?.textContent).toBe('License expired');
    expect(alert.textContent).toContain('nothing was replaced');
    expect(screen.getByText('LIC-1')).toBeTruthy();
    expect(screen.getByText('The license shown below is still installed.')).toBeTruthy();
  });

  it('an install error whose code has no words of its own says the last install failed', async () => {
    backend({
      upload_license_dialog: () => {
        throw { code: 'SOMETHING_NEW', message: 'a new kind of failure' };
      },
    });
    render(GatewayView);
    await screen.findByText('LIC-1');
    await fireEvent.click(screen.getByRole('button', { name: 'Upload License' }));
    const alert = await screen.findByRole('alert');
    expect(alert.querySelector('strong')?.textContent).toBe('The last install failed');
  });

  it('installs a dropped file through the same seam and shows the result', async () => {
    const seen: string[][] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'list_gateways') return [gateway];
      if (cmd === 'gateway_license') return view;
      if (cmd === 'install_license_files') {
        seen.push((args as { paths: string[] }).paths);
        return { gateway_id: gateway.id, replaced: true, backup: 'b.lic', view };
      }
      return null;
    });
    render(GatewayView);
    await screen.findByText('LIC-1');
    drop.pendingLicense = ['/tmp/new.lic'];
    await waitFor(() => expect(seen).toEqual([['/tmp/new.lic']]));
    expect(drop.pendingLicense).toBeNull();
  });
});
