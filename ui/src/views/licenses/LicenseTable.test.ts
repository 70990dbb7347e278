import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/svelte';
import LicenseTable from './LicenseTable.svelte';

const row = (i: number, status: string) => ({
  code: `CODE-${i}`, batch_id: 1, batch_kind: 'purchase', pk: 'p1', product_name: 'Meter', dk: `dev-${i}`,
  consumed_at: '2025-01-01T00:00:00Z', expires_at: '2030-01-01T00:00:00Z', status,
});

describe('LicenseTable', () => {
  it('marks the sorted column and asks Rust for another sort on click', async () => {
    const onsort = vi.fn();
    render(LicenseTable, { rows: [row(1, 'active'), row(2, 'expired'), row(3, 'unused')], sort: 'expires_at', desc: true, loading: false, initial: false, hasMore: true, onsort, onmore: () => {} });
    expect(screen.getByRole('columnheader', { name: /Expires at/ }).getAttribute('aria-sort')).toBe('descending');
    await fireEvent.click(screen.getByRole('button', { name: 'Sort by Activation Code' }));
    expect(onsort).toHaveBeenCalledWith('code');
    expect(screen.getByText('Active').className).toContain('ok');
    expect(screen.getByText('Expired').className).toContain('bad');
    expect(screen.getByText('Unused').className).toContain('idle');
    expect(screen.getByRole('button', { name: 'Load more' })).toBeTruthy();
  });

  it('shows an empty state when nothing matches', () => {
    render(LicenseTable, { rows: [], sort: 'id', desc: false, loading: false, initial: false, hasMore: false, onsort: () => {}, onmore: () => {} });
    expect(screen.getByText('No codes match')).toBeTruthy();
  });
});
