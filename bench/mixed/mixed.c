// mixed: a kernel of the everyday instruction mix of system code: loads and stores,
// pointer chasing, calls (direct, indirect, recursive), data-dependent branches, a
// switch-dispatched bytecode loop (indirect jumps) and string instructions on small
// buffers (REP MOVSB, REP STOSQ, REPE CMPSB).
//
// uint64_t bench_run(uint64_t n)
//
// Every iteration starts from the same state (the buffers are rebuilt from a fixed
// seed), so each retires the same number of instructions and the count of a run is
// a + b*n exactly; only the running checksum, which steers no branch, carries over.
#include <stddef.h>
#include <stdint.h>

#define NOINLINE __attribute__((noinline))

enum { kNodes = 64, kSortN = 32, kBuf = 256 };

struct node {
  struct node* next;
  uint64_t key;
  uint32_t weight;
  uint16_t tag;
  uint8_t flags;
};

static struct node nodes[kNodes];
static uint32_t sort_buf[kSortN];
static uint8_t src_buf[kBuf] __attribute__((aligned(16)));
static uint8_t dst_buf[kBuf] __attribute__((aligned(16)));
static uint64_t qwords[kBuf / 8];

static inline uint32_t lcg(uint32_t* s) {
  *s = *s * 1664525u + 1013904223u;
  return *s >> 8;
}

static inline void rep_movsb(void* d, const void* s, size_t n) {
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}
static inline void rep_stosq(void* d, uint64_t v, size_t n) {
  __asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(v) : "memory");
}
// Returns the number of leading bytes equal in a and b (REPE CMPSB).
static inline size_t repe_cmpsb(const void* a, const void* b, size_t n) {
  size_t left = n;
  __asm__ volatile("repe cmpsb" : "+S"(a), "+D"(b), "+c"(left) : : "memory", "cc");
  return n - left - (left || ((const uint8_t*)a)[-1] != ((const uint8_t*)b)[-1]);
}

// Builds the linked list in a shuffled order, so traversal jumps around the array.
NOINLINE static void build_list(uint32_t seed) {
  uint8_t order[kNodes];
  for (int i = 0; i < kNodes; ++i) order[i] = (uint8_t)i;
  for (int i = kNodes - 1; i > 0; --i) {
    int j = (int)(lcg(&seed) % (uint32_t)(i + 1));
    uint8_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (int i = 0; i < kNodes; ++i) {
    struct node* p = &nodes[order[i]];
    p->next = i + 1 < kNodes ? &nodes[order[i + 1]] : NULL;
    p->key = (uint64_t)lcg(&seed) << 20 | order[i];
    p->weight = lcg(&seed) & 0xFFFF;
    p->tag = (uint16_t)(i * 7);
    p->flags = (uint8_t)(lcg(&seed) & 3);
  }
  nodes[0].weight |= 1;  // keep the head reachable from the walk below
}

NOINLINE static uint64_t walk_list(const struct node* p) {
  uint64_t sum = 0;
  for (; p; p = p->next) {
    if (p->flags & 1) sum += p->key ^ p->weight;
    else sum -= p->tag;
    if (p->flags & 2) sum = (sum << 3) | (sum >> 61);
  }
  return sum;
}

NOINLINE static void insertion_sort(uint32_t* a, int n) {
  for (int i = 1; i < n; ++i) {
    uint32_t v = a[i];
    int j = i - 1;
    while (j >= 0 && a[j] > v) {
      a[j + 1] = a[j];
      --j;
    }
    a[j + 1] = v;
  }
}

NOINLINE static unsigned tree_calls(unsigned depth) {
  return depth < 2 ? depth + 1 : tree_calls(depth - 1) + tree_calls(depth - 2) + 1;
}

typedef uint64_t (*op_fn)(uint64_t, uint64_t);
NOINLINE static uint64_t op_add(uint64_t a, uint64_t b) { return a + b; }
NOINLINE static uint64_t op_mix(uint64_t a, uint64_t b) { return (a ^ b) * 0x9E3779B97F4A7C15ull; }
NOINLINE static uint64_t op_rot(uint64_t a, uint64_t b) { return (a << (b & 63)) | (a >> (-b & 63)); }
NOINLINE static uint64_t op_min(uint64_t a, uint64_t b) { return a < b ? a : b; }
static op_fn const ops[4] = {op_add, op_mix, op_rot, op_min};

// A small stack machine: the switch compiles to a jump table (indirect jumps).
// The program computes acc = acc * 3 + 7 ten times.
enum { OP_PUSH, OP_ADD, OP_SUB, OP_MUL, OP_DUP, OP_SWAP, OP_JNZ, OP_HALT };
static const uint8_t program[] = {
    OP_PUSH, 1,            // 0: [acc]
    OP_PUSH, 10,           // 2: [acc, counter]
    OP_SWAP,               // 4: [counter, acc]
    OP_PUSH, 3, OP_MUL,    // 5: [counter, acc * 3]
    OP_PUSH, 7, OP_ADD,    // 8: [counter, acc * 3 + 7]
    OP_SWAP,               // 11: [acc, counter]
    OP_PUSH, 1, OP_SUB,    // 12: [acc, counter - 1]
    OP_DUP,                // 15: [acc, counter, counter]
    OP_JNZ, 4,             // 16: pop; loop while counter != 0
    OP_HALT,               // 18: [acc, 0]
};

NOINLINE static uint64_t interpret(void) {
  uint64_t stack[16];
  unsigned sp = 0, pc = 0, steps = 0;
  // Masks keep every access inside the arrays whatever the program does.
  while (++steps < 1000 && pc < sizeof program) {
    uint8_t op = program[pc++];
    switch (op) {
      case OP_PUSH: stack[sp++ & 15] = program[pc++ % sizeof program]; break;
      case OP_ADD: --sp; stack[(sp - 1) & 15] += stack[sp & 15]; break;
      case OP_SUB: --sp; stack[(sp - 1) & 15] -= stack[sp & 15]; break;
      case OP_MUL: --sp; stack[(sp - 1) & 15] *= stack[sp & 15]; break;
      case OP_DUP: stack[sp & 15] = stack[(sp - 1) & 15]; ++sp; break;
      case OP_SWAP: {
        uint64_t t = stack[(sp - 1) & 15];
        stack[(sp - 1) & 15] = stack[(sp - 2) & 15];
        stack[(sp - 2) & 15] = t;
        break;
      }
      case OP_JNZ: {
        uint8_t target = program[pc++ % sizeof program];
        if (stack[--sp & 15] != 0) pc = target;
        break;
      }
      default:
        return stack[(sp - 2) & 15] * 1000 + steps;
    }
  }
  return 0xDEAD;
}

NOINLINE static uint64_t one_iteration(void) {
  uint32_t seed = 12345;
  uint64_t h = 0;

  build_list(seed);
  h += walk_list(&nodes[0]);

  for (int i = 0; i < kSortN; ++i) sort_buf[i] = lcg(&seed);
  insertion_sort(sort_buf, kSortN);
  h ^= (uint64_t)sort_buf[0] << 32 | sort_buf[kSortN - 1];

  for (int i = 0; i < kBuf; ++i) src_buf[i] = (uint8_t)(i * 13 + 5);
  rep_movsb(dst_buf, src_buf, kBuf);
  dst_buf[200] ^= 1;
  h += repe_cmpsb(dst_buf, src_buf, kBuf);  // 200: first difference
  rep_stosq(qwords, h, kBuf / 8);
  for (int i = 0; i < kBuf / 8; i += 4) h += qwords[i] >> i;

  h += tree_calls(10);
  for (unsigned i = 0; i < 16; ++i) h = ops[i & 3](h, i + 1);
  h += interpret();
  return h;
}

uint64_t bench_run(uint64_t n) {
  uint64_t checksum = 0;
  for (uint64_t i = 0; i < n; ++i) checksum = (checksum * 31) ^ one_iteration();
  return checksum;
}
