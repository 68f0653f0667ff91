// wordcount: counts lines, words and bytes of every input file (like `wc`).
// Reads /in recursively, writes /out/wordcount.txt, prints a summary on stdout.
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static FILE *report;
static unsigned long total_lines, total_words, total_bytes;

static void count_file(const char *path, const char *name) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); return; }
  unsigned long lines = 0, words = 0, bytes = 0;
  int in_word = 0, c;
  while ((c = fgetc(f)) != EOF) {
    bytes++;
    if (c == '\n') lines++;
    if (isspace(c)) in_word = 0;
    else if (!in_word) { in_word = 1; words++; }
  }
  fclose(f);
  fprintf(report, "%-40s %10lu %10lu %12lu\n", name, lines, words, bytes);
  total_lines += lines; total_words += words; total_bytes += bytes;
}

static void walk(const char *dir, const char *prefix) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char path[4096], name[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    snprintf(name, sizeof name, "%s%s", prefix, e->d_name);
    struct stat st;
    if (stat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      char sub[4096];
      snprintf(sub, sizeof sub, "%s/", name);
      walk(path, sub);
    } else if (S_ISREG(st.st_mode)) {
      count_file(path, name);
    }
  }
  closedir(d);
}

int main(void) {
  report = fopen("/out/wordcount.txt", "w");
  if (!report) { perror("/out/wordcount.txt"); return 1; }
  fprintf(report, "%-40s %10s %10s %12s\n", "file", "lines", "words", "bytes");
  walk("/in", "");
  fprintf(report, "%-40s %10lu %10lu %12lu\n", "total", total_lines, total_words, total_bytes);
  fclose(report);
  printf("counted %lu lines, %lu words, %lu bytes\n", total_lines, total_words, total_bytes);
  return 0;
}
