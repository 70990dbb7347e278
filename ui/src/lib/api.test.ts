import { describe, expect, it } from 'vitest';
import { mockIPC } from '@tauri-apps/api/mocks';
import { api, ApiError, toApiError } from './api';

describe('api seam', () => {
  it('calls the command with its named arguments and returns the DTO', async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === 'device_quota') return { pk: 'p1a2b3', dk: 'dev-1', messages_today: 12 };
      return null;
    });
    const q = await api.deviceQuota('p1a2b3', 'dev-1');
    expect(q.messages_today).toBe(12);
    expect(calls).toEqual([['device_quota', { pk: 'p1a2b3', dk: 'dev-1' }]]);
  });

  it('turns a Rust {code, message} into an ApiError without touching the text', async () => {
    mockIPC(() => {
      throw { code: 'LICENSE_SIGNATURE_INVALID', message: 'the signature does not verify: …' };
    });
    const err = await api.installLicenseFiles('this', ['/tmp/x.lic']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('LICENSE_SIGNATURE_INVALID');
    expect((err as ApiError).message).toBe('the signature does not verify: …');
  });

  it('gives anything else a stable IPC_ERROR code', () => {
    expect(toApiError('boom').code).toBe('IPC_ERROR');
    expect(toApiError(new Error('x')).message).toBe('x');
    expect(toApiError({ code: 1 }).code).toBe('IPC_ERROR');
  });

  it('delivers sync progress events to the listener', async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const seen: unknown[] = [];
    const off = await api.onSyncProgress((p) => seen.push(p));
    const { emit } = await import('@tauri-apps/api/event');
    await emit('sync://progress', { phase: 'codes', done: 5, total: 10 });
    expect(seen).toEqual([{ phase: 'codes', done: 5, total: 10 }]);
    off();
  });
});
