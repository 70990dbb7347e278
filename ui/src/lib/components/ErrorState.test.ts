import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import ErrorState from './ErrorState.svelte';

describe('ErrorState', () => {
  it('shows an error as an alert with Rust’s message and code', () => {
    render(ErrorState, { error: { code: 'CACHE_ERROR', message: 'the local cache failed: disk full' } });
    const box = screen.getByRole('alert');
    expect(box.textContent).toContain('Something went wrong');
    expect(box.textContent).toContain('disk full');
    expect(box.getAttribute('data-code')).toBe('CACHE_ERROR');
  });

  it('shows a cache that never synced as a calm status, not an error', () => {
    render(ErrorState, { error: { code: 'NOT_SYNCED', message: 'nothing is synced yet' } });
    expect(screen.queryByRole('alert')).toBeNull();
    const box = screen.getByRole('status');
    expect(box.textContent).toContain('Not synced yet');
    expect(box.classList.contains('info')).toBe(true);
  });
});
