// Every DTO the UI shows, in one place: generated bindings (src/bindings/,
// from Rust with ts-rs) where they exist, the pending local types otherwise.
// Components import from here, so moving a type to its binding touches only
// this file.
export * from './types-pending';
