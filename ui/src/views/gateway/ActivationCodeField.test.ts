import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import ActivationCodeField from './ActivationCodeField.svelte';

// Rust decides the grouping and the check; this stands in for it.
function rustCheck(input: string) {
  const raw = input.toUpperCase().replace(/[-\s]/g, '');
  const formatted = [raw.slice(0, 4), raw.slice(4, 8), raw.slice(8, 12), raw.slice(12, 16), raw.slice(16)].filter(Boolean).join('-');
  if (raw.length < 21) return { formatted, complete: false, error: null };
  if (raw.endsWith('C')) return { formatted, complete: true, error: null };
  return { formatted, complete: false, error: { code: 'CODE_CHECK_MISMATCH', message: 'the check symbol does not match' } };
}

async function type(input: HTMLInputElement, value: string) {
  await fireEvent.input(input, { target: { value } });
}

describe('ActivationCodeField', () => {
  it('shows what Rust regrouped, and enables Activate only for a complete code', async () => {
    const calls: string[] = [];
    mockIPC((cmd, args) => {
      calls.push(cmd);
      return rustCheck((args as { input: string }).input);
    });
    const onactivate = vi.fn();
    render(ActivationCodeField, { onactivate });
    const input = screen.getByLabelText('Activation Code') as HTMLInputElement;
    const button = screen.getByRole('button', { name: 'Activate' });

    await type(input, '7k3mq9tx');
    await waitFor(() => expect(input.value).toBe('7K3M-Q9TX'));
    expect((button as HTMLButtonElement).disabled).toBe(true);

    await type(input, '7K3MQ9TX2B4R8HJN5WZ0C');
    await waitFor(() => expect(screen.getByText('Check symbol OK')).toBeTruthy());
    expect((button as HTMLButtonElement).disabled).toBe(false);
    await fireEvent.click(button);
    expect(onactivate).toHaveBeenCalledWith('7K3M-Q9TX-2B4R-8HJN-5WZ0C');
    expect(calls.every((c) => c === 'check_activation_code')).toBe(true);
  });

  it('flags a wrong check symbol before anything is sent', async () => {
    const calls: string[] = [];
    mockIPC((cmd, args) => {
      calls.push(cmd);
      return rustCheck((args as { input: string }).input);
    });
    const onactivate = vi.fn();
    render(ActivationCodeField, { onactivate });
    const input = screen.getByLabelText('Activation Code') as HTMLInputElement;
    await type(input, '7K3MQ9TX2B4R8HJN5WZ0D');
    await waitFor(() => expect(input.getAttribute('aria-invalid')).toBe('true'));
    expect(screen.getByText('the check symbol does not match').getAttribute('data-code')).toBe('CODE_CHECK_MISMATCH');
    expect((screen.getByRole("button", { name: "Activate" }) as HTMLButtonElement).disabled).toBe(true);
    expect(onactivate).not.toHaveBeenCalled();
    expect(calls).not.toContain('activate_gateway');
  });
});
