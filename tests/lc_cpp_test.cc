// lc_cpp_test.cc: lockcheck.h used from C++ (built as C++11 in every
// build). Every call of the header runs once as C++ (the probe, compiled
// here as C++); a C++ class that initialises its lock in its constructor is
// one class for all its objects; the checker reports C++ code's lock-order
// cycles; and a process with a finding still runs its static destructors
// before it exits 66.
#include <check.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#include "lockcheck/lockcheck.h"
extern "C" {
#include "testutil.h"
}

// The probe's C source, compiled here as C++.
#include "testdata/lc_header_probe.inc"

namespace
{

// A lock owned by an object: one init call, so one class for every Mutex.
class Mutex
{
      public:
	explicit Mutex(const char *name)
	{
		init_err_ = lc_mutex_init(&m_, name);
	}
	~Mutex()
	{
		lc_mutex_destroy(&m_);
	}
	Mutex(const Mutex &) = delete;
	Mutex &operator=(const Mutex &) = delete;

	int init_err() const
	{
		return init_err_;
	}
	int lock()
	{
		return lc_mutex_lock(&m_);
	}
	int unlock()
	{
		return lc_mutex_unlock(&m_);
	}
	void set_order(uint64_t key)
	{
		lc_mutex_set_order(&m_, key);
	}

      private:
	lc_mutex_t m_;
	int init_err_;
};

lc_mutex_t first = LC_MUTEX_INITIALIZER("cpp.first");
lc_mutex_t second = LC_MUTEX_INITIALIZER("cpp.second");

void take(lc_mutex_t *a, lc_mutex_t *b)
{
	lc_mutex_lock(a);
	lc_mutex_lock(b);
	lc_mutex_unlock(b);
	lc_mutex_unlock(a);
}

} // namespace

START_TEST(test_every_call_works_from_cpp)
{
	ck_assert_int_eq(lc_header_probe(), 0);
}
END_TEST

// Objects of the class, taken in ascending keys: one class, no report.
static void ordered_objects(void *)
{
	Mutex a("cpp.account"), b("cpp.account"), c("cpp.account");
	Mutex *all[] = { &a, &b, &c };

	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(all[i]->init_err(), 0);
		all[i]->set_order(static_cast<uint64_t>(i));
	}
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(all[i]->lock(), 0);
	for (int i = 2; i >= 0; i--)
		ck_assert_int_eq(all[i]->unlock(), 0);
}

START_TEST(test_constructor_init_is_one_class)
{
	const char *dir = lct_tmpdir("cpp");
	char env0[4200];
	const char *env[] = { env0, nullptr };
	struct lct_child c;
	char *dump;

	std::snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s", dir);
	c = lct_expect_reports(ordered_objects, nullptr, env, nullptr, 0);
	lct_child_free(&c);
	dump = lct_read_only_dump(dir);
	if (LOCKCHECK) {
		ck_assert_ptr_nonnull(dump);
		ck_assert_uint_eq(lct_count_prefix(dump, "class "), 1);
		ck_assert_uint_eq(lct_count_prefix(dump, "class 0 mutex 3 "),
				  1);
	}
	std::free(dump);
}
END_TEST

// Set in the child: the static object's destructor leaves a file there.
static const char *marker;

namespace
{
struct AtExit {
	~AtExit()
	{
		if (!marker)
			return;
		if (FILE *f = std::fopen(marker, "w"))
			std::fclose(f);
	}
} at_exit_object;
} // namespace

static void abba_in_threads(void *arg)
{
	marker = static_cast<const char *>(arg);
	lct_in_thread([](void *) { take(&first, &second); }, nullptr);
	lct_in_thread([](void *) { take(&second, &first); }, nullptr);
}

START_TEST(test_cycle_in_cpp_code_is_reported_after_static_destructors)
{
	char path[4200];
	struct lct_child c;
	char line[256];

	std::snprintf(path, sizeof(path), "%s/destroyed",
		      lct_tmpdir("cppexit"));
	c = lct_expect_reports(abba_in_threads, path, nullptr,
			       "lock-order-cycle", LOCKCHECK ? 1 : 0);
	if (LOCKCHECK) {
		ck_assert(lct_find_line(c.err, "lockcheck: ", line,
					sizeof(line)));
		ck_assert_str_eq(line,
				 "lockcheck: lock-order-cycle: cpp.second "
				 "-> cpp.first -> cpp.second (2 locks, 2 "
				 "threads)");
	}
	ck_assert_int_eq(access(path, F_OK), 0);
	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_cpp");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_every_call_works_from_cpp);
	tcase_add_test(tc, test_constructor_init_is_one_class);
	tcase_add_test(
		tc,
		test_cycle_in_cpp_code_is_reported_after_static_destructors);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
