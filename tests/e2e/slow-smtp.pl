#!/usr/bin/perl
# slow-smtp.pl PORT FROM TO FILE PAUSEFILE [REPLYFILE] - send FILE by SMTP line for line,
# stopping half way through DATA until PAUSEFILE disappears; prints the final reply code,
# or the code of the reply that refused the message earlier (and dies). REPLYFILE, if
# given, gets that reply's whole line (e.g. "250 2.0.0 <queue id> Message accepted").
# Lets a test kill the milter while the MTA is mid-message: when it stops it
# prints "paused" (the test waits for that line).
use strict;
use warnings;
use IO::Socket::INET;

my ($port, $from, $to, $file, $pause, $replyfile) = @ARGV;
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 30)
    or die "connect: $!";
sub reply { my $l; do { $l = <$s>; die "connection closed\n" unless defined $l; } while ($l =~ /^\d{3}-/); return $l; }
sub cmd { print $s "$_[0]\r\n"; return reply(); }
sub final {
	my ($r) = @_;
	print substr($r, 0, 3), "\n";
	if (defined $replyfile) { open(my $o, '>', $replyfile) or die "$replyfile: $!"; print $o $r; close $o; }
}
sub expect {
	my ($what, $r, $want) = @_;
	return if $r =~ $want;
	final($r);
	die "$what refused: $r";
}
expect("greeting", reply(), qr/^220/);
cmd("EHLO client.example");
expect("MAIL", cmd("MAIL FROM:<$from>"), qr/^250/);
expect("RCPT", cmd("RCPT TO:<$to>"), qr/^250/);
expect("DATA", cmd("DATA"), qr/^354/);
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
final($r);
cmd("QUIT");
