// accounts.cc: std::mutex in C++, never initialised by a pthread call
// (libstdc++'s std::mutex is a constant-initialised pthread_mutex_t).
// Heap objects of two types, each locked first at its own call site, are
// taken in both orders by two threads (one after the other): one
// lock-order cycle between the two first-lock sites.
#include <cstdio>
#include <mutex>
#include <thread>

struct Ledger {
	std::mutex m;
	long total = 0;
};

struct Account {
	std::mutex m;
	long balance = 100;
};

__attribute__((noinline)) static void post(Ledger *l, Account *a)
{
	std::lock_guard<std::mutex> g(l->m);
	std::lock_guard<std::mutex> h(a->m);
	l->total += a->balance;
}

__attribute__((noinline)) static void audit(Account *a, Ledger *l)
{
	std::lock_guard<std::mutex> g(a->m);
	std::lock_guard<std::mutex> h(l->m);
	a->balance -= l->total > 0;
}

int main()
{
	Ledger *l = new Ledger;
	Account *a = new Account;

	std::thread(post, l, a).join();
	std::thread(audit, a, l).join();
	std::printf("total %ld balance %ld\n", l->total, a->balance);
	delete a;
	delete l;
	return 0;
}
