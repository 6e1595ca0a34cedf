package dev.hourglass.cache.bench.policy;

import java.util.Arrays;

/**
 * Doubly linked lists of dense keys through shared arrays: each key is in at most one list at a
 * time. List heads and tails are indexes into {@code head}/{@code tail}; -1 is "none".
 */
final class Links {
  final int[] prev;
  final int[] next;
  final int[] list; // which list a key is in, or -1
  final int[] head;
  final int[] tail;
  final int[] size;

  Links(int keys, int lists) {
    prev = new int[keys];
    next = new int[keys];
    list = new int[keys];
    Arrays.fill(list, -1);
    head = new int[lists];
    tail = new int[lists];
    size = new int[lists];
    Arrays.fill(head, -1);
    Arrays.fill(tail, -1);
  }

  /** Adds at the head (most recent end). */
  void addFirst(int l, int key) {
    prev[key] = -1;
    next[key] = head[l];
    if (head[l] >= 0) {
      prev[head[l]] = key;
    } else {
      tail[l] = key;
    }
    head[l] = key;
    list[key] = l;
    size[l]++;
  }

  void remove(int key) {
    int l = list[key];
    int p = prev[key];
    int n = next[key];
    if (p >= 0) {
      next[p] = n;
    } else {
      head[l] = n;
    }
    if (n >= 0) {
      prev[n] = p;
    } else {
      tail[l] = p;
    }
    list[key] = -1;
    size[l]--;
  }

  void moveToFirst(int l, int key) {
    remove(key);
    addFirst(l, key);
  }

  /** Removes and returns the tail (least recent end), or -1. */
  int pollLast(int l) {
    int key = tail[l];
    if (key >= 0) {
      remove(key);
    }
    return key;
  }
}
