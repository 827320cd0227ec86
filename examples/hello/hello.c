/* A tiny program for the fakebuild example: installed setuid root. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("hello from uid %u (effective %u)\n", (unsigned)getuid(), (unsigned)geteuid());
	return 0;
}
