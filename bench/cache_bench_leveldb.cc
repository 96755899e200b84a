// cache_bench_leveldb.cc: LevelDB's sharded LRU cache (leveldb/cache.h,
// Debian libleveldb-dev) behind bench/cache_bench.h, as LevelDB itself uses
// it: Insert then Release, Lookup then Value then Release.
#include <leveldb/cache.h>

extern "C" {
#include "cache_bench.h"
}

namespace
{

void NoopDeleter(const leveldb::Slice &, void *)
{
}

void *Create(size_t capacity)
{
	return leveldb::NewLRUCache(capacity);
}

void Destroy(void *cache)
{
	delete static_cast<leveldb::Cache *>(cache);
}

void Put(void *cache, const void *key, size_t keylen, void *value)
{
	leveldb::Cache *c = static_cast<leveldb::Cache *>(cache);
	leveldb::Slice k(static_cast<const char *>(key), keylen);

	c->Release(c->Insert(k, value, 1, NoopDeleter));
}

int Get(void *cache, const void *key, size_t keylen)
{
	leveldb::Cache *c = static_cast<leveldb::Cache *>(cache);
	leveldb::Slice k(static_cast<const char *>(key), keylen);
	leveldb::Cache::Handle *h = c->Lookup(k);
	volatile void *value;

	if (!h)
		return 0;
	value = c->Value(h);
	(void)value;
	c->Release(h);
	return 1;
}

} // namespace

extern "C" const struct bench_cache bench_leveldb_cache = {
	"leveldb", Create, Destroy, Put, Get,
};
