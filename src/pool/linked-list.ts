/**
 * A node of a {@link LinkedList}. Owners keep their nodes and re-insert them, so moving a
 * connection between "idle" and "in use" allocates nothing.
 */
export class ListNode<T> {
  prev: ListNode<T> | null = null;
  next: ListNode<T> | null = null;
  list: LinkedList<T> | null = null;

  constructor(readonly value: T) {}
}

/**
 * An intrusive doubly linked list: O(1) append, removal of any node, and access to both
 * ends. The pool's indexes (idle connections in idle order, waiters in arrival order) are
 * made of these, which is what keeps acquire, release and a cleanup pass O(1).
 */
export class LinkedList<T> {
  head: ListNode<T> | null = null;
  tail: ListNode<T> | null = null;
  size = 0;

  push(node: ListNode<T>): void {
    node.list = this;
    node.prev = this.tail;
    node.next = null;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.size++;
  }

  remove(node: ListNode<T>): void {
    if (node.list !== this) return;
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = null;
    node.list = null;
    this.size--;
  }

  *values(): IterableIterator<T> {
    for (let node = this.head; node; node = node.next) yield node.value;
  }
}
