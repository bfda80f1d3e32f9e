#!/bin/sh
# bonsai-eval against lm-evaluation-harness: the 60 PIQA and 60 ARC-Easy
# items of ../shared/fixtures/eval/lm_eval_tiny, whose per-choice
# log-likelihoods HF transformers computed in float64. Every choice's score
# must agree to 1e-4 relative, and every token count, greedy flag and
# acc / acc_norm prediction exactly.
. tests/eval-common.sh
REF=$M/loglikelihoods.jsonl
eval_setup "$REF" "$TOK" "$F/eval/piqa/valid.jsonl" "$F/eval/arc_easy/ARC-Easy-Test.jsonl"

# the official files through the task readers: the fixture is their first 60 items
bin/bonsai-eval tasks "piqa=$F/eval/piqa,arc_easy=$F/eval/arc_easy/ARC-Easy-Test.jsonl" \
	--limit 60 -m "$F/eval/lm_eval_tiny" -t "$TOK" -q \
	-o "$TMP/results.json" --samples "$TMP/samples.jsonl"
rc=$?
# a few requests through `loglik`, the same contexts and " " + choice
perl -MJSON::PP -ne '
	my $x = decode_json($_);
	next unless $. % 15 == 1;
	print encode_json({context => $x->{context}, continuation => " $_"}), "\n"
		for @{$x->{choices}};' "$REF" > "$TMP/requests.jsonl"
bin/bonsai-eval loglik "$TMP/requests.jsonl" -m "$F/eval/lm_eval_tiny" -t "$TOK" -q \
	-o "$TMP/loglik.jsonl"
rc2=$?

RC=$rc RC2=$rc2 perl -MJSON::PP -e '
	use strict; use warnings;
	my ($ref, $dir) = @ARGV;
	# one line per check for the TAP counter below: "0 what" passed, "1 what" failed
	sub ok { my ($c, $m) = @_; print(($c ? 0 : 1), " $m\n"); $c }
	sub lines { open my $f, "<", $_[0] or return (); map { decode_json($_) } <$f> }
	ok($ENV{RC} == 0, "bonsai-eval tasks exits 0");
	ok($ENV{RC2} == 0, "bonsai-eval loglik exits 0");
	my @ref = lines($ref);
	my %got = map { ("$_->{task}/$_->{index}" => $_) } lines("$dir/samples.jsonl");
	ok(@ref == 120 && keys(%got) == 120, "120 items on both sides");
	my (%bad, $worst);
	$worst = 0;
	my %acc;
	for my $r (@ref) {
		my $g = $got{"$r->{task}/$r->{index}"};
		if (!$g) { $bad{missing}++; next }
		$bad{context}++ if $g->{context} ne $r->{context};
		$bad{choices}++ if join("\0", @{$g->{choices}}) ne join("\0", @{$r->{choices}});
		$bad{gold}++ if $g->{gold} != $r->{gold};
		for my $c (0 .. $#{$r->{choices}}) {
			my $rel = abs($g->{loglikelihoods}[$c] - $r->{loglikelihoods}[$c]) /
			    abs($r->{loglikelihoods}[$c]);
			$worst = $rel if $rel > $worst;
			$bad{loglikelihood}++ if $rel > 1e-4;
			$bad{is_greedy}++ if !!$g->{is_greedy}[$c] != !!$r->{is_greedy}[$c];
			$bad{context_tokens}++ if $g->{context_tokens}[$c] != $r->{context_tokens}[$c];
			$bad{continuation_tokens}++
			    if $g->{continuation_tokens}[$c] != $r->{continuation_tokens}[$c];
		}
		$bad{pred_acc}++ if $g->{pred_acc} != $r->{pred_acc};
		$bad{pred_acc_norm}++ if $g->{pred_acc_norm} != $r->{pred_acc_norm};
		$acc{$r->{task}}{n}++;
		$acc{$r->{task}}{acc} += $r->{pred_acc} == $r->{gold};
		$acc{$r->{task}}{acc_norm} += $r->{pred_acc_norm} == $r->{gold};
	}
	ok(!$bad{missing}, "every reference item evaluated");
	for my $k (qw(context choices gold)) {
		ok(!$bad{$k}, "$k of every item as lm-eval built it") or
		    print "#   $bad{$k} differ\n";
	}
	ok(!$bad{loglikelihood}, sprintf("every log-likelihood within 1e-4 relative (worst %.2g)", $worst))
	    or print "#   $bad{loglikelihood} choices differ\n";
	for my $k (qw(is_greedy context_tokens continuation_tokens pred_acc pred_acc_norm)) {
		ok(!$bad{$k}, "$k equal for every item") or print "#   $bad{$k} differ\n";
	}
	# the results JSON: lm-eval layout, the reference predictions counted
	my $res = do {
		local $/;
		open my $fh, "<", "$dir/results.json" or die;
		eval { decode_json(<$fh>) } || {};
	};
	for my $t (sort keys %acc) {
		my $r = $res->{results}{$t} || {};
		my $n = $acc{$t}{n};
		my $pa = $acc{$t}{acc} / $n, my $pn = $acc{$t}{acc_norm} / $n;
		ok(defined $r->{"acc,none"} && abs($r->{"acc,none"} - $pa) < 1e-12,
		   "$t: acc,none = $pa");
		ok(defined $r->{"acc_norm,none"} && abs($r->{"acc_norm,none"} - $pn) < 1e-12,
		   "$t: acc_norm,none = $pn");
		ok(defined $r->{"acc_stderr,none"} &&
		   abs($r->{"acc_stderr,none"} - sqrt($pa * (1 - $pa) / ($n - 1))) < 1e-12,
		   "$t: acc_stderr,none");
		ok(($res->{"n-samples"}{$t}{effective} // -1) == $n, "$t: n-samples $n");
	}
	# loglik answers the same requests with the same numbers
	my @ll = lines("$dir/loglik.jsonl");
	my @want;
	my $i = 0;
	for my $r (@ref) {
		$i++;
		push @want, @{$r->{loglikelihoods}} if $i % 15 == 1;
	}
	my $lbad = @ll == @want ? 0 : 1;
	for my $k (0 .. $#want) {
		$lbad++ if !$ll[$k] || abs($ll[$k]{loglikelihood} - $want[$k]) > 1e-4 * abs($want[$k]);
	}
	ok(@want > 0 && !$lbad, scalar(@want) . " loglik requests agree with the reference");
' "$REF" "$TMP" > "$TMP/checks"
prc=$?
while read -r status what; do
	case $status in
	[01]) ok "$status" "$what" ;;
	*) echo "$status $what" ;; # a diagnostic line, "# ..."
	esac
done < "$TMP/checks"
[ $prc -eq 0 ] || ok 1 "the checks ran to their end (perl exited $prc)"
done_testing
