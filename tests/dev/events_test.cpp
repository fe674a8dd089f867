#include <catch2/catch.hpp>

#include "tests/dev/dev_rig.h"

using namespace sim;

TEST_CASE("event queue fires in due order, ties by registration", "[events]") {
  EventQueue q;
  std::vector<int> order;
  auto a = q.add("a", [&](uint64_t) { order.push_back(0); });
  auto b = q.add("b", [&](uint64_t) { order.push_back(1); });
  auto c = q.add("c", [&](uint64_t) { order.push_back(2); });
  CHECK(q.next_due() == EventQueue::kNever);
  q.schedule(c, 100);
  q.schedule(b, 50);
  q.schedule(a, 100);
  CHECK(q.next_due() == 50);
  CHECK(q.run_due(49) == 0);
  CHECK(q.run_due(100) == 3);
  CHECK(order == std::vector<int>{1, 0, 2});
  CHECK(q.next_due() == EventQueue::kNever);
  CHECK(q.fired(a) == 1);
}

TEST_CASE("event queue: rescheduling, cancel, self re-arm", "[events]") {
  EventQueue q;
  int n = 0;
  EventQueue::Id periodic = 0;
  periodic = q.add("periodic", [&](uint64_t now) {
    n++;
    if (n < 5) q.schedule(periodic, now + 10);
  });
  unsigned changes = 0;
  q.on_change([&] { changes++; });
  q.schedule(periodic, 10);
  q.schedule(periodic, 20);  // moves it
  CHECK(q.next_due() == 20);
  q.run_due(1000);  // re-armed in the past: all five fire in this call
  CHECK(n == 5);
  CHECK(q.next_due() == EventQueue::kNever);
  CHECK(changes > 0);
  auto x = q.add("x", [&](uint64_t) { n += 100; });
  q.schedule(x, 5);
  q.cancel(x);
  CHECK(!q.armed(x));
  CHECK(q.run_due(10) == 0);
  CHECK(n == 5);
}

TEST_CASE("device clock conversions are exact", "[events]") {
  test::DevRig rig(2'000'000'000);
  const DeviceContext& c = rig.ctx;
  // The PIT's 1.193182 MHz: tick t starts at the first cycle at or after t/f.
  for (uint64_t t : {0ull, 1ull, 12345ull, 1193182ull, 1193182ull * 3600 * 24 * 365})
    CHECK(c.ticks_at(c.cycle_of_tick(t, 1193182), 1193182) == t);
  CHECK(c.ticks_at(c.cycle_of_tick(7, 1193182) - 1, 1193182) == 6);
}
