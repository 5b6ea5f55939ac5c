#!/usr/bin/perl
# missing.pl SRC CONFIG: prints "NAME CONFIG_X" for every module of the kernel source whose
# option CONFIG is not built in, under its module name and the aliases the kernel requests it
# by (fs-xfs, nft-expr-..., rtnl-link-..., crypto-...). The runcvm kernel's modprobe helper looks
# a request up here to name the option a feature needs (guest/agent/modprobe.c).
# Only the trees a container can reach by a request_module() are scanned.
use strict;
use warnings;

my ($src, $config) = @ARGV;
die "usage: missing.pl SRC CONFIG\n" unless defined $config;

my %set;
open(my $cf, '<', $config) or die "missing.pl: open $config: $!\n";
while (<$cf>) { $set{$1} = 1 if /^(CONFIG_\w+)=y$/; }
close $cf;

my %out;
sub add { my ($name, $opt) = @_; $out{$name} //= $opt; }

# Aliases declared in one C file, as the request_module() names they expand to.
sub aliases {
	my ($file) = @_;
	open(my $fh, '<', $file) or return ();
	local $/;
	my $c = <$fh>;
	close $fh;
	my @a;
	push @a, $1 while $c =~ /\bMODULE_ALIAS\(\s*"([^"%]+)"\s*\)/g;
	push @a, "fs-$1" while $c =~ /\bMODULE_ALIAS_FS\(\s*"([^"]+)"\s*\)/g;
	push @a, "nft-expr-$1" while $c =~ /\bMODULE_ALIAS_NFT_EXPR\(\s*"([^"]+)"\s*\)/g;
	push @a, "rtnl-link-$1" while $c =~ /\bMODULE_ALIAS_RTNL_LINK\(\s*"([^"]+)"\s*\)/g;
	push @a, "crypto-$1", $1 while $c =~ /\bMODULE_ALIAS_CRYPTO\(\s*"([^"]+)"\s*\)/g;
	return @a;
}

sub scan_makefile {
	my ($dir) = @_;
	open(my $fh, '<', "$dir/Makefile") or return;
	my $text = do { local $/; <$fh> };
	close $fh;
	$text =~ s/\\\n/ /g;
	my (%parts, @mods);
	for my $line (split /\n/, $text) {
		if ($line =~ /^\s*obj-\$\((CONFIG_\w+)\)\s*[:+]?=\s*(.*)$/) {
			my $opt = $1;
			next if $set{$opt};
			push @mods, [$_, $opt] for grep { s/\.o$// } split ' ', $2;
		} elsif ($line =~ /^\s*([\w-]+)-(?:y|objs|\$\(CONFIG_\w+\))\s*[:+]?=\s*(.*)$/) {
			push @{$parts{$1}}, grep { s/\.o$// } split ' ', $2;
		}
	}
	for my $m (@mods) {
		my ($name, $opt) = @$m;
		next if $name =~ m{/};
		add($name, $opt);
		my @files = map { "$dir/$_.c" } ($name, @{$parts{$name} // []});
		add($_, $opt) for map { aliases($_) } grep { -f } @files;
	}
}

sub walk {
	my ($dir) = @_;
	scan_makefile($dir);
	opendir(my $dh, $dir) or return;
	my @subs = grep { !/^\./ && -d "$dir/$_" } readdir $dh;
	closedir $dh;
	walk("$dir/$_") for sort @subs;
}

walk("$src/$_") for qw(fs net crypto block security drivers/net drivers/block drivers/md drivers/char drivers/virtio);
print "$_ $out{$_}\n" for sort keys %out;
