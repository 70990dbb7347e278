import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { createRawSnippet } from 'svelte';
import Modal from './Modal.svelte';

const body = createRawSnippet(() => ({ render: () => '<input aria-label="How many" />' }));

describe('Modal', () => {
  it('Escape asks to close; when it goes, the focus goes back to what opened it', async () => {
    const opener = document.createElement('button');
    opener.textContent = 'Assign';
    document.body.append(opener);
    try {
      opener.focus();
      const onclose = vi.fn();
      const { unmount } = render(Modal, { title: 'Assign codes to a product', onclose, children: body });
      const dialog = screen.getByRole('dialog', { name: 'Assign codes to a product' });
      screen.getByLabelText('How many').focus();
      // Escape on a modal <dialog> is its cancel event.
      await fireEvent(dialog, new Event('cancel', { cancelable: true }));
      expect(onclose).toHaveBeenCalledOnce();
      unmount();
      expect(document.activeElement).toBe(opener);
    } finally {
      opener.remove();
    }
  });
});
