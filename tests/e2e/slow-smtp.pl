#!/usr/bin/perl
# slow-smtp.pl PORT FROM TO FILE PAUSEFILE - send FILE by SMTP line for line, stopping half
# way through DATA until PAUSEFILE disappears; prints the final reply code.
# Lets a test kill the milter while Postfix is mid-message: when it stops it
# prints "paused" (the test waits for that line).
use strict;
use warnings;
use IO::Socket::INET;

my ($port, $from, $to, $file, $pause) = @ARGV;
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 30)
    or die "connect: $!";
sub reply { my $l; do { $l = <$s>; die "connection closed\n" unless defined $l; } while ($l =~ /^\d{3}-/); return $l; }
sub cmd { print $s "$_[0]\r\n"; return reply(); }
reply();
cmd("EHLO client.example");
cmd("MAIL FROM:<$from>") =~ /^250/ or die "MAIL refused\n";
cmd("RCPT TO:<$to>") =~ /^250/ or die "RCPT refused\n";
cmd("DATA") =~ /^354/ or die "DATA refused\n";
open(my $fh, '<', $file) or die "$file: $!";
my @lines = <$fh>;
close $fh;
my $half = int(@lines / 2);
for my $i (0 .. $#lines) {
	if ($i == $half) {
		$s->flush;
		if (-e $pause) {
			$| = 1;
			print "paused\n";	# the test waits for this line, then kills the milter
			sleep 1 while -e $pause;
		}
	}
	my $l = $lines[$i];
	$l =~ s/\r?\n$//;
	$l = ".$l" if $l =~ /^\./;
	print $s "$l\r\n";
}
my $r = cmd(".");
print substr($r, 0, 3), "\n";
cmd("QUIT");
