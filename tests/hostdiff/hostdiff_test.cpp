// Fixed-seed sample of the host differential harness: every bound user-level form,
// 200 random cases each, must match the host CPU. One test per form group so a
// mismatch points at the semantics file that owns it.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "tests/hostdiff/hostdiff.h"

namespace {

void check_group(const char* group) {
  hostdiff::Options o;
  o.seed = 1;
  o.cases_per_form = 200;
  o.group = group;
  std::string log;
  hostdiff::Summary s = hostdiff::run(o, &log);
  std::printf("hostdiff %s: %u forms covered, %llu cases compared, %llu mismatches\n", group,
              s.forms_covered(), (unsigned long long)s.cases, (unsigned long long)s.mismatches);
  INFO(log);
  CHECK(s.mismatches == 0);
}

}  // namespace

TEST_CASE("integer forms match the host", "[hostdiff]") { check_group("int"); }
TEST_CASE("x87 forms match the host", "[hostdiff]") { check_group("x87"); }
TEST_CASE("SSE forms match the host", "[hostdiff]") { check_group("sse"); }
TEST_CASE("AVX forms match the host", "[hostdiff]") { check_group("avx"); }
