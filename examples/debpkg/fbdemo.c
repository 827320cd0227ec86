/* fbdemo: a setuid program for the debhelper example; prints its ids. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("uid %u euid %u\n", (unsigned)getuid(), (unsigned)geteuid());
	return 0;
}
