/** Undo/redo of the editor: a bounded stack of snapshots around the present one. */

export class History<T> {
  private past: T[] = [];
  private future: T[] = [];

  constructor(
    private present: T,
    private readonly limit = 100,
  ) {}

  /** The current snapshot. */
  get current(): T {
    return this.present;
  }

  /** Record a new snapshot (drops what could be redone). */
  push(next: T): void {
    this.past.push(this.present);
    if (this.past.length > this.limit) this.past.shift();
    this.present = next;
    this.future = [];
  }

  /** Step back; returns the snapshot now current (unchanged when there is nothing to undo). */
  undo(): T {
    const previous = this.past.pop();
    if (previous !== undefined) {
      this.future.push(this.present);
      this.present = previous;
    }
    return this.present;
  }

  /** Step forward again after an undo. */
  redo(): T {
    const next = this.future.pop();
    if (next !== undefined) {
      this.past.push(this.present);
      this.present = next;
    }
    return this.present;
  }
}
