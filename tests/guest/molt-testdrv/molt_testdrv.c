// SPDX-License-Identifier: GPL-2.0
/* molt_testdrv: the out-of-tree driver of the driver-set switch tests.
 * Built in versions that differ visibly: MODULE_VERSION (read back in
 * /sys/module/molt_testdrv/version) and what its device /dev/molt_testdrv
 * reads ("molt_testdrv VERSION\n"). MOLT_TESTDRV_FAIL builds a version
 * whose init fails, as a broken hotfix would. Every version refuses to
 * load while /run/molt_testdrv.refuse exists: the stand-in for a device
 * that a failed driver left stuck until the next boot (/run is tmpfs), so
 * that a test can make the old module fail to load again. */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/namei.h>

#ifndef MOLT_TESTDRV_VERSION
#define MOLT_TESTDRV_VERSION "1"
#endif

#define TESTDRV_REFUSE "/run/molt_testdrv.refuse"

static const char text[] = "molt_testdrv " MOLT_TESTDRV_VERSION "\n";

static ssize_t testdrv_read(struct file *file, char __user *buf, size_t len, loff_t *pos)
{
	return simple_read_from_buffer(buf, len, pos, text, sizeof(text) - 1);
}

static const struct file_operations testdrv_fops = {
	.owner = THIS_MODULE,
	.read = testdrv_read,
	.llseek = default_llseek,
};

static struct miscdevice testdrv_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "molt_testdrv",
	.fops = &testdrv_fops,
	.mode = 0444,
};

static int __init testdrv_init(void)
{
	struct path refuse;

	if (kern_path(TESTDRV_REFUSE, LOOKUP_FOLLOW, &refuse) == 0) {
		path_put(&refuse);
		pr_err("molt_testdrv " MOLT_TESTDRV_VERSION ": refusing to load while " TESTDRV_REFUSE
		       " exists\n");
		return -EIO;
	}
#ifdef MOLT_TESTDRV_FAIL
	pr_err("molt_testdrv " MOLT_TESTDRV_VERSION ": refusing to load (a broken build)\n");
	return -EIO;
#else
	return misc_register(&testdrv_dev);
#endif
}

static void __exit testdrv_exit(void)
{
	misc_deregister(&testdrv_dev);
}

module_init(testdrv_init);
module_exit(testdrv_exit);
MODULE_LICENSE("GPL");
MODULE_VERSION(MOLT_TESTDRV_VERSION);
MODULE_DESCRIPTION("molt's test driver for driver-set switches");
