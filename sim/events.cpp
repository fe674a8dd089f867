#include "sim/events.h"

#include <algorithm>

namespace sim {

EventQueue::Id EventQueue::add(std::string name, Callback fn) {
  timers_.push_back(Timer{std::move(name), std::move(fn)});
  return Id(timers_.size() - 1);
}

void EventQueue::recompute() {
  uint64_t n = kNever;
  for (const Timer& t : timers_) n = std::min(n, t.due);
  if (n != next_) {
    next_ = n;
    if (changed_) changed_();
  }
}

void EventQueue::schedule(Id id, uint64_t due) {
  if (due == kNever) return cancel(id);
  timers_[id].due = due;
  if (due < next_) {
    next_ = due;
    if (changed_) changed_();
  } else {
    recompute();
  }
}

void EventQueue::cancel(Id id) {
  if (timers_[id].due == kNever) return;
  const bool was_next = timers_[id].due == next_;
  timers_[id].due = kNever;
  if (was_next) recompute();
}

unsigned EventQueue::run_due(uint64_t now) {
  unsigned n = 0;
  // One timer at a time: a callback may re-arm timers (itself included), and the
  // earliest due one, ties to the lowest id, is always the next to fire.
  while (next_ <= now) {
    Id pick = 0;
    uint64_t best = kNever;
    for (Id i = 0; i < timers_.size(); i++)
      if (timers_[i].due < best) best = timers_[i].due, pick = i;
    Timer& t = timers_[pick];
    t.due = kNever;
    t.fired++;
    recompute();
    t.fn(best);  // may arm timers (not add them): schedule() keeps next_ right
    n++;
  }
  return n;
}

}  // namespace sim
