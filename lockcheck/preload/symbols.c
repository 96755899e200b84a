/*
 * symbols.c: which module an address lies in, and the symbol around it.
 * Modules come from dl_iterate_phdr (not dladdr: that takes the loader's
 * lock, which a dlopen holds while constructors run that may wait for a
 * lock this thread holds). Symbols come from the module's file: its
 * .symtab when it was not stripped (static variables and functions), else
 * its .dynsym. Each file is mapped once and kept; a module whose file
 * cannot be read has no symbols, only module+offset names.
 */
#define _GNU_SOURCE
#include "symbols.h"
#include "preload.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MODULES 256

struct symtab {
	uintptr_t base;		/* load bias: the key */
	const ElfW(Sym) * syms; /* NULL: none */
	size_t nsyms;
	const char *strs;
	size_t strs_size;
};

static struct symtab tabs[MAX_MODULES];
static size_t ntabs;
static pthread_mutex_t tabs_lock = PTHREAD_MUTEX_INITIALIZER;

struct find {
	uintptr_t addr;
	struct lc__pre_module *out;
	bool found;
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static int find_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct find *f = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD || f->addr < lo ||
		    f->addr >= lo + ph->p_memsz)
			continue;
		f->out->base = info->dlpi_addr;
		f->out->writable = (ph->p_flags & PF_W) != 0;
		if (info->dlpi_name && info->dlpi_name[0])
			snprintf(f->out->path, sizeof(f->out->path), "%s",
				 info->dlpi_name);
		else if (!lc__exe_path(f->out->path, sizeof(f->out->path)))
			snprintf(f->out->path, sizeof(f->out->path), "?");
		f->out->name = base_name(f->out->path);
		f->found = true;
		return 1;
	}
	return 0;
}

bool lc__pre_module_of(const void *addr, struct lc__pre_module *out)
{
	struct find f = { (uintptr_t)addr, out, false };

	memset(out, 0, sizeof(*out));
	dl_iterate_phdr(find_module, &f);
	return f.found;
}

/* The symbol table of the ELF file mapped at map (size bytes): .symtab,
 * else .dynsym. False when it has neither or is not a valid file. */
static bool read_symtab(const char *map, size_t size, struct symtab *t)
{
	const ElfW(Ehdr) *eh = (const void *)map;
	const ElfW(Shdr) * sh;
	const ElfW(Shdr) *best = NULL;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_shentsize != sizeof(*sh) ||
	    eh->e_shoff + (size_t)eh->e_shnum * sizeof(*sh) > size)
		return false;
	sh = (const void *)(map + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_SYMTAB ||
		    (sh[i].sh_type == SHT_DYNSYM && !best))
			best = &sh[i];
	if (!best || best->sh_link >= eh->e_shnum ||
	    best->sh_offset + best->sh_size > size ||
	    sh[best->sh_link].sh_offset + sh[best->sh_link].sh_size > size)
		return false;
	t->syms = (const void *)(map + best->sh_offset);
	t->nsyms = best->sh_size / sizeof(ElfW(Sym));
	t->strs = map + sh[best->sh_link].sh_offset;
	t->strs_size = sh[best->sh_link].sh_size;
	return true;
}

/* Under tabs_lock: the module's table, read from its file the first time. */
static const struct symtab *symtab_of(const struct lc__pre_module *m)
{
	struct symtab *t;
	struct stat st;
	void *map = MAP_FAILED;
	int fd;

	for (size_t i = 0; i < ntabs; i++)
		if (tabs[i].base == m->base)
			return &tabs[i];
	if (ntabs == MAX_MODULES)
		return NULL;
	t = &tabs[ntabs++];
	t->base = m->base;
	fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return t;
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd,
			   0);
	close(fd);
	if (map != MAP_FAILED && !read_symtab(map, (size_t)st.st_size, t))
		munmap(map, (size_t)st.st_size);
	return t;
}

/* The symbol of t (of type types) that contains rel: its name and rel's
 * offset in it. */
static bool lookup(const struct symtab *t, uintptr_t rel, bool object,
		   char *name, size_t size, uintptr_t *off)
{
	const ElfW(Sym) *best = NULL;

	for (size_t i = 0; t->syms && i < t->nsyms; i++) {
		const ElfW(Sym) *s = &t->syms[i];
		int type = ELF64_ST_TYPE(s->st_info);

		if (s->st_shndx == SHN_UNDEF || s->st_name >= t->strs_size ||
		    (object ? type != STT_OBJECT : type != STT_FUNC))
			continue;
		if (rel >= s->st_value &&
		    (rel < s->st_value + s->st_size ||
		     (s->st_size == 0 && rel == s->st_value)))
			best = s;
	}
	if (!best)
		return false;
	snprintf(name, size, "%s", t->strs + best->st_name);
	*off = rel - best->st_value;
	return name[0] != '\0';
}

bool lc__pre_symbol(const struct lc__pre_module *m, const void *addr,
		    bool object, char *name, size_t size, uintptr_t *off)
{
	const struct symtab *t;
	bool found = false;

	LC__PRE_REAL(mutex_lock)(&tabs_lock);
	t = symtab_of(m);
	if (t)
		found = lookup(t, (uintptr_t)addr - m->base, object, name, size,
			       off);
	LC__PRE_REAL(mutex_unlock)(&tabs_lock);
	return found;
}

void lc__pre_symbols_hold(void)
{
	LC__PRE_REAL(mutex_lock)(&tabs_lock);
}

void lc__pre_symbols_free(bool in_child)
{
	if (in_child)
		LC__PRE_REAL(mutex_init)(&tabs_lock, NULL);
	else
		LC__PRE_REAL(mutex_unlock)(&tabs_lock);
}
