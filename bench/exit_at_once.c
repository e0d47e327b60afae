/* The benchmarks' stand-in for rsync: exits at once, so that a timing measures the gatekeeper
 * (rrsync or upstream's script) and the exec, not the program it starts. A C program linked
 * against libc alone, as small as a real dynamically linked server gets.
 *
 * rrsync learns what its rsync supports from option names in the binary: these make the
 * stand-in look like rsync 3.5.0, so rrsync hands it the same argv it hands the real one. */
static const char kOptionNames[] __attribute__((used)) = "--\0drop-D\0confine-root\0";

int main(void) { return kOptionNames[0] != '-'; }
