// Serial output, printf and the end-of-run protocol. See rt.h.
#include "rt.h"

enum {
  kCom1 = 0x3F8,
  kCom1Lsr = kCom1 + 5,     // line status register
  kLsrThre = 0x20,          // transmitter holding register empty
  kLsrTemt = 0x40,          // transmitter empty (holding and shift registers)
  kDebugExitPort = 0xF4,    // nestsim / QEMU isa-debug-exit
  kBochsE9Port = 0xE9,      // Bochs port_e9_hack console
  kBochsShutdownPort = 0x8900,
};

// 115200 baud, 8 data bits, no parity, 1 stop bit. Firmware may leave the UART in
// any state (Bochs starts with 5-bit words), so every workload programs it first.
void rt_serial_init(void) {
  rt_outb(kCom1 + 1, 0x00);  // IER: no interrupts
  rt_outb(kCom1 + 3, 0x80);  // LCR.DLAB = 1: +0/+1 are the divisor latch
  rt_outb(kCom1 + 0, 0x01);  // divisor 1 = 115200 baud
  rt_outb(kCom1 + 1, 0x00);
  rt_outb(kCom1 + 3, 0x03);  // LCR: 8N1, DLAB = 0
  rt_outb(kCom1 + 2, 0x07);  // FCR: enable and clear the FIFOs
}

void rt_putc(char c) {
  // Wait for THRE as a real 16550 needs; nestsim reports LSR = 0x60 at once.
  while (!(rt_inb(kCom1Lsr) & kLsrThre)) {
  }
  rt_outb(kCom1, (uint8_t)c);
}

void rt_write(const char* s, size_t n) {
  for (size_t i = 0; i < n; ++i) rt_putc(s[i]);
}

void rt_puts(const char* s) {
  while (*s) rt_putc(*s++);
}

// Formats v in `base` into the end of buf; returns the first digit.
static char* format_u64(char* end, uint64_t v, unsigned base, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char* p = end;
  do {
    *--p = digits[v % base];
    v /= base;
  } while (v);
  return p;
}

// The formatter writes through a sink, so printf and snprintf share it.
struct sink {
  void (*put)(struct sink*, char);
  char* buf;    // snprintf: destination, size and bytes produced so far
  size_t size;
  size_t len;
};

static void put_serial(struct sink* s, char c) {
  (void)s;
  rt_putc(c);
}

static void put_buffer(struct sink* s, char c) {
  if (s->len + 1 < s->size) s->buf[s->len] = c;
  s->len++;
}

static void emit(struct sink* out, const char* s, int len) {
  for (int i = 0; i < len; ++i) out->put(out, s[i]);
}

static int emit_padded(struct sink* out, const char* s, int len, int width, bool left,
                       char pad, bool negative) {
  int n = 0;
  int body = len + (negative ? 1 : 0);
  // Zero padding goes between the sign and the digits; space padding before the sign.
  if (negative && pad == '0') out->put(out, '-'), ++n;
  if (!left)
    for (; body < width; ++body) out->put(out, pad), ++n;
  if (negative && pad != '0') out->put(out, '-'), ++n;
  emit(out, s, len);
  n += len;
  if (left)
    for (; body < width; ++body) out->put(out, ' '), ++n;
  return n;
}

static int format(struct sink* out, const char* fmt, va_list ap) {
  int n = 0;
  for (const char* f = fmt; *f; ++f) {
    if (*f != '%') {
      out->put(out, *f);
      ++n;
      continue;
    }
    ++f;
    bool left = false;
    char pad = ' ';
    for (;; ++f) {
      if (*f == '-') left = true;
      else if (*f == '0') pad = '0';
      else break;
    }
    int width = 0;
    while (*f >= '0' && *f <= '9') width = width * 10 + (*f++ - '0');
    int lng = 0;  // -2 hh, -1 h, 0 int, 1 long, 2 long long / size_t
    if (*f == 'h') {
      lng = -1;
      if (*++f == 'h') lng = -2, ++f;
    } else if (*f == 'l') {
      lng = 1;
      if (*++f == 'l') lng = 2, ++f;
    } else if (*f == 'z') {
      lng = 2;
      ++f;
    }
    if (left) pad = ' ';
    char buf[24];
    char* end = buf + sizeof buf;
    switch (*f) {
      case 'd':
      case 'i': {
        int64_t v = lng >= 1 ? va_arg(ap, int64_t) : va_arg(ap, int);
        if (lng == -1) v = (int16_t)v;
        if (lng == -2) v = (int8_t)v;
        uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
        char* s = format_u64(end, mag, 10, false);
        n += emit_padded(out, s, (int)(end - s), width, left, pad, v < 0);
        break;
      }
      case 'u':
      case 'x':
      case 'X':
      case 'p': {
        uint64_t v;
        if (*f == 'p') v = (uintptr_t)va_arg(ap, void*);
        else v = lng >= 1 ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
        if (lng == -1) v = (uint16_t)v;
        if (lng == -2) v = (uint8_t)v;
        unsigned base = *f == 'u' ? 10 : 16;
        char* s = format_u64(end, v, base, *f == 'X');
        if (*f == 'p') *--s = 'x', *--s = '0';
        n += emit_padded(out, s, (int)(end - s), width, left, pad, false);
        break;
      }
      case 'c': {
        char c = (char)va_arg(ap, int);
        n += emit_padded(out, &c, 1, width, left, ' ', false);
        break;
      }
      case 's': {
        const char* s = va_arg(ap, const char*);
        if (!s) s = "(null)";
        n += emit_padded(out, s, (int)strlen(s), width, left, ' ', false);
        break;
      }
      case '%':
        out->put(out, '%');
        ++n;
        break;
      default:  // unknown conversion: print it as written, stop if the string ended
        out->put(out, '%');
        ++n;
        if (!*f) return n;
        out->put(out, *f);
        ++n;
        break;
    }
  }
  return n;
}

int rt_vprintf(const char* fmt, va_list ap) {
  struct sink out = {put_serial, NULL, 0, 0};
  return format(&out, fmt, ap);
}

int rt_printf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = rt_vprintf(fmt, ap);
  va_end(ap);
  return n;
}

int rt_vsnprintf(char* buf, size_t size, const char* fmt, va_list ap) {
  struct sink out = {put_buffer, buf, size, 0};
  int n = format(&out, fmt, ap);
  if (size) buf[out.len < size ? out.len : size - 1] = 0;
  return n;
}

int rt_snprintf(char* buf, size_t size, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = rt_vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}

_Noreturn void rt_exit(uint32_t v) {
  // Let the UART finish sending, or the emulator may power off with bytes in flight.
  while (!(rt_inb(kCom1Lsr) & kLsrTemt)) {
  }
  // nestsim and QEMU's isa-debug-exit stop here.
  rt_outl(kDebugExitPort, v);
  // Bochs: report the value on the port 0xE9 console, then request shutdown with the
  // "Shutdown" byte sequence on port 0x8900 (Bochs unmapped-port device).
  static const char kTag[] = "\nrt_exit ";
  for (const char* p = kTag; *p; ++p) rt_outb(kBochsE9Port, (uint8_t)*p);
  char buf[24];
  char* end = buf + sizeof buf;
  for (char* s = format_u64(end, v, 10, false); s < end; ++s) rt_outb(kBochsE9Port, (uint8_t)*s);
  rt_outb(kBochsE9Port, '\n');
  for (const char* p = "Shutdown"; *p; ++p) rt_outb(kBochsShutdownPort, (uint8_t)*p);
  for (;;) __asm__ volatile("cli; hlt");
}

bool rt_on_nestsim(void) { return rt_inl(RT_REPORT_PORT) == RT_REPORT_SIGNATURE; }

_Noreturn void rt_assert_fail(const char* file, int line, const char* expr) {
  rt_printf("ASSERT FAILED %s:%d: %s\n", file, line, expr);
  rt_exit(RT_EXIT_ASSERT);
}

// One record at a time: the simulator copies it during the OUT, so a static buffer will
// do (the runtime is single-threaded). Aligned so it never straddles a page.
static char report_buf[RT_REPORT_MAX] __attribute__((aligned(RT_REPORT_MAX)));

void rt_report(const char* key, const char* fmt, ...) {
  int n = rt_snprintf(report_buf, sizeof report_buf, "%s=", key);
  if (n < (int)sizeof report_buf - 1) {
    va_list ap;
    va_start(ap, fmt);
    rt_vsnprintf(report_buf + n, sizeof report_buf - (size_t)n, fmt, ap);
    va_end(ap);
  }
  for (char* p = report_buf; *p; ++p)
    if (*p < 0x20 || *p > 0x7E) *p = '?';
  // Identity paging: the linear address is the physical one, and below 4 GiB. The
  // barrier keeps the compiler from moving the buffer's stores after the OUT.
  __asm__ volatile("" ::: "memory");
  rt_outl(RT_REPORT_PORT, (uint32_t)(uintptr_t)report_buf);
}
