%%% steward_bench: the Erlang/OTP reference half of the Steward side-by-side
%%% benchmarks. Steward reimplements Erlang processes and gen_server in
%%% TypeScript; these workloads are the OTP baseline it is compared against.
%%%
%%% Usage (normally through bench/otp/run.sh, which compiles this module):
%%%
%%%   erl -noshell -pa DIR -run steward_bench main [quick] [runs=N] [Name ...]
%%%
%%% With no names every workload runs. A Name may also be a group:
%%% `foundation` (processes, gen_server), `ets` (the ETS table workloads),
%%% `supervisor` (starting, shutting down and restarting children),
%%% `director` (restart latency, a child's pid lookup) or `tracker`
%%% (steward_tracker_bench.erl). Stdout receives exactly one JSON object
%%% (one line); progress and diagnostics go to stderr.
%%%
%%% Methodology
%%% -----------
%%% * Throughput workloads (keys ending in _per_s): the operation count N is
%%%   calibrated first (grow N until one run takes >= 100 ms, then scale it so
%%%   one run takes about 1.2 s). Then ?RUNS runs (default 5) are timed with
%%%   erlang:monotonic_time/1 read once before and once after a tight,
%%%   tail-recursive loop (no timer:tc, no per-iteration clock reads), and the
%%%   MEDIAN of the per-run rates (N / seconds) is reported.
%%% * Memory workloads (keys ending in _bytes): start 100,000 idle processes
%%%   (or gen_servers), garbage-collect every one of them and the driver, and
%%%   report the growth of erlang:memory(total) divided by 100,000. The
%%%   driver's own memory (which holds the 100,000-element pid list) is
%%%   subtracted from both readings, so only the idle processes are counted.
%%%   This too is repeated ?RUNS times and the median reported; the processes
%%%   are killed (and their 'DOWN' awaited) after every run.
%%%   - The baseline is taken only once erlang:memory(processes) has stopped
%%%     shrinking: the VM frees a dead process's memory asynchronously, some
%%%     time after its 'DOWN' has been delivered, and a baseline taken too
%%%     early under-counts by ~180 bytes/process on every run but the first.
%%%   - The growth of erlang:memory(processes) is reported as well, under the
%%%     key Name_processes. The difference is mostly the process dictionary,
%%%     which the VM accounts as "system" memory: a gen_server's
%%%     '$ancestors' and '$initial_call' entries cost ~100 bytes there.
%%% * Every run executes in a freshly spawned driver process (with a 10,000
%%%   word minimum heap), so one run's heap, mailbox or monitors cannot leak
%%%   into the next.
%%% * The VM runs with its default settings; on the 2-core reference machine
%%%   that is 2 schedulers. The actual count is reported as "schedulers".
%%%
%%% * ETS workloads (keys set_*, oset_*): see "ETS tables" below. Figures are
%%%   times (ns per operation unless the name says _ms/_us, bytes for
%%%   _bytes): the median of ?RUNS runs of about 1.2 s, lower is better.
%%%
%%% * Supervisor workloads (keys sup_*): see "Supervisors" below.
%%%
%%% Adding a workload: write a function Opts -> number() and add
%%% {Name, Fun} to foundation_workloads/0, ets_workloads/0 or
%%% supervisor_workloads/0. Name is also the JSON key and the name accepted
%%% on the command line. A Fun may instead return a list of {Key, number()}
%%% pairs to report several values (the memory and supervisor workloads do).

-module(steward_bench).
-behaviour(gen_server).

%% Entry points
-export([main/0, main/1, run/1, workloads/0]).
%% gen_server callbacks (this module is also the trivial gen_server)
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(TARGET_NS, 1200000000).      % aim: one run ~ 1.2 s
-define(CALIBRATE_MIN_NS, 100000000). % calibration run must reach 100 ms
-define(RUNS, 5).
-define(IDLE_COUNT, 100000).
%% Driver processes start with an 80 KB heap (default: 233 words) so the
%% timed loops do fewer minor GCs. Measured effect on the reference
%% machine: gen_server:call +3-5 %, the others within noise.
-define(DRIVER_HEAP_WORDS, 10000).

%%====================================================================
%% Workload table
%%====================================================================

%% [{Name, Fun}] in output order.
%% Fun(Opts) -> number() | [{Key :: atom(), number()}].
%% Opts = #{runs := pos_integer()}.
workloads() ->
    foundation_workloads() ++ ets_workloads() ++ supervisor_workloads() ++
        director_workloads() ++ tracker_workloads().

foundation_workloads() ->
    [{spawn_down_per_s,      fun spawn_down_per_s/1},
     {idle_process_bytes,    fun idle_process_bytes/1},
     {idle_gen_server_bytes, fun idle_gen_server_bytes/1},
     {pingpong_rt_per_s,     fun pingpong_rt_per_s/1},
     {gen_server_call_per_s, fun gen_server_call_per_s/1}].

ets_workloads() ->
    [{set_int_insert_1m,          fun set_int_insert_1m/1},
     {set_int_lookup_hit_1m,      fun set_int_lookup_hit_1m/1},
     {set_int_lookup_miss_1m,     fun set_int_lookup_miss_1m/1},
     {set_int_lookup_hit_10k,     fun set_int_lookup_hit_10k/1},
     {set_int_update_counter_1m,  fun set_int_update_counter_1m/1},
     {set_int_delete_1m,          fun set_int_delete_1m/1},
     {set_tuple_lookup_hit_1m,    fun set_tuple_lookup_hit_1m/1},
     {set_tuple_insert_1m,        fun set_tuple_insert_1m/1},
     {oset_insert_1m,             fun oset_insert_1m/1},
     {oset_lookup_hit_1m,         fun oset_lookup_hit_1m/1},
     {oset_walk_step,             fun oset_walk_step/1},
     {oset_select_range_guard_ms, fun oset_select_range_guard_ms/1},
     {oset_select_prefix_us,      fun oset_select_prefix_us/1},
     {set_int_memory_bytes,       fun set_int_memory_bytes/1}].

supervisor_workloads() ->
    [{sup_sofo,    fun sup_sofo/1},
     {sup_ofo,     fun sup_ofo/1},
     {sup_restart, fun sup_restart/1}].

director_workloads() ->
    [{restart_latency_us, fun restart_latency_us/1},
     {get_pid_ns,         fun get_pid_ns/1}].

%% Names accepted on the command line for several workloads.
groups() ->
    [{"foundation", [N || {N, _} <- foundation_workloads()]},
     {"ets", [N || {N, _} <- ets_workloads()]},
     {"supervisor", [N || {N, _} <- supervisor_workloads()]},
     {"director", [N || {N, _} <- director_workloads()]},
     {"tracker", [N || {N, _} <- tracker_workloads()]}].

%% The tracker workloads live in steward_tracker_bench.erl.
tracker_workloads() ->
    steward_tracker_bench:workloads().

%%====================================================================
%% Entry points
%%====================================================================

main() -> main([]).

%% Args: strings (from `erl -run`) or atoms (from `erl -s` / the shell).
%%   quick    one run per workload instead of ?RUNS (smoke testing)
%%   runs=N   N runs per workload
%%   Name     run only the named workloads (default: all)
%% Prints one JSON object on stdout and halts the VM (0 ok, 1 crash, 2 usage).
main(Args0) ->
    log_to_stderr(),
    Args = [to_list(A) || A <- Args0],
    try
        Opts = parse_args(Args, #{runs => ?RUNS, names => []}),
        T0 = erlang:monotonic_time(millisecond),
        Results = run(Opts),
        Meta = [{otp, list_to_binary(erlang:system_info(otp_release))},
                {erts, list_to_binary(erlang:system_info(version))},
                {schedulers, erlang:system_info(schedulers_online)},
                {runs, maps:get(runs, Opts)}],
        io:put_chars(json_object(Meta ++ Results)),
        io:nl(),
        info("total ~.1f s~n",
             [(erlang:monotonic_time(millisecond) - T0) / 1000]),
        halt(0)
    catch
        throw:{usage, Msg} ->
            info("usage error: ~s~n", [Msg]),
            halt(2);
        Class:Reason:Stack ->
            info("benchmark crashed: ~p:~p~n~p~n", [Class, Reason, Stack]),
            halt(1)
    end.

%% Runs the selected workloads; returns [{Key, Value}] without printing
%% JSON or halting (handy from an interactive shell), e.g.
%%   steward_bench:run(#{runs => 1, names => [pingpong_rt_per_s]}).
run(Opts) ->
    Runs = maps:get(runs, Opts, ?RUNS),
    Names = maps:get(names, Opts, []),
    All = workloads(),
    Selected = case Names of
                   [] -> All;
                   _ -> [lists:keyfind(N, 1, All) || N <- Names]
               end,
    lists:append(
      [begin
           info("== ~s (~b run(s))~n", [Name, Runs]),
           Pairs = case Fun(#{runs => Runs}) of
                       V when is_number(V) -> [{Name, V}];
                       L when is_list(L) -> L
                   end,
           [info("   ~s = ~s~n", [K, fmt_num(V)]) || {K, V} <- Pairs],
           Pairs
       end || {Name, Fun} <- Selected]).

parse_args([], Opts) ->
    Opts;
parse_args(["quick" | Rest], Opts) ->
    parse_args(Rest, Opts#{runs => 1});
parse_args(["runs=" ++ N | Rest], Opts) ->
    case catch list_to_integer(N) of
        R when is_integer(R), R > 0 -> parse_args(Rest, Opts#{runs => R});
        _ -> throw({usage, "runs=N needs a positive integer"})
    end;
parse_args([Name | Rest], Opts = #{names := Names}) ->
    Known = [atom_to_list(K) || {K, _} <- workloads()],
    case {lists:keyfind(Name, 1, groups()), lists:member(Name, Known)} of
        {{_, Group}, _} ->
            parse_args(Rest, Opts#{names => Names ++ (Group -- Names)});
        {false, true} ->
            parse_args(Rest, Opts#{names => Names ++ [list_to_atom(Name)]});
        {false, false} ->
            throw({usage, io_lib:format(
                            "unknown workload ~p; known: ~s (groups: ~s)",
                            [Name, lists:join(", ", Known),
                             lists:join(", ", [G || {G, _} <- groups()])])})
    end.

%%====================================================================
%% Workload 1: spawn_monitor + 'DOWN', one at a time
%%====================================================================

%% Spawn a process that returns at once, wait for its 'DOWN', repeat.
%% One operation = spawn_monitor + exit + 'DOWN' delivered.
spawn_down_per_s(Opts) ->
    throughput(Opts, 1000, timed(fun spawn_down_loop/1)).

spawn_down_loop(0) ->
    ok;
spawn_down_loop(N) ->
    {Pid, Ref} = spawn_monitor(fun() -> ok end),
    receive {'DOWN', Ref, process, Pid, _} -> ok end,
    spawn_down_loop(N - 1).

%%====================================================================
%% Workloads 2 and 3: memory per idle process / idle gen_server
%%====================================================================

%% Idle process = plain process blocked in `receive`.
idle_process_bytes(Opts) ->
    idle_memory(Opts, idle_process_bytes,
                fun() -> spawn(fun idle_loop/0) end).

idle_loop() ->
    receive stop -> ok end.

%% Idle gen_server = this module started with gen_server:start/3, whose
%% init/1 returns {ok, state}; it then sits in gen_server's receive loop.
idle_gen_server_bytes(Opts) ->
    idle_memory(Opts, idle_gen_server_bytes,
                fun() -> {ok, Pid} = gen_server:start(?MODULE, idle, []), Pid end).

%% Returns [{Name, TotalBytes}, {Name_processes, ProcessesBytes}].
idle_memory(#{runs := Runs}, Name, Start) ->
    Samples = [in_fresh_process(fun() -> idle_memory_run(Start) end)
               || _ <- lists:seq(1, Runs)],
    Totals = [T || {T, _} <- Samples],
    Procs = [P || {_, P} <- Samples],
    info("   bytes/process per run, memory(total): ~s; memory(processes): ~s~n",
         [fmt_list(Totals), fmt_list(Procs)]),
    [{Name, round(median(Totals))},
     {list_to_atom(atom_to_list(Name) ++ "_processes"), round(median(Procs))}].

%% Returns {TotalGrowthPerProc, ProcessesGrowthPerProc}.
idle_memory_run(Start) ->
    settle_memory(),
    Before = mem_excluding_self(),
    Pids = start_n(?IDLE_COUNT, Start, []),
    %% Fully GC each idle process (this is a synchronous request: it returns
    %% once the target has collected, so each process has also run its
    %% start-up code and is blocked in receive), then the driver itself.
    lists:foreach(fun erlang:garbage_collect/1, Pids),
    After = mem_excluding_self(),
    kill_all(Pids),
    {BT, BP} = Before,
    {AT, AP} = After,
    {(AT - BT) / ?IDLE_COUNT, (AP - BP) / ?IDLE_COUNT}.

start_n(0, _Start, Acc) -> Acc;
start_n(N, Start, Acc) -> start_n(N - 1, Start, [Start() | Acc]).

%% Wait until memory(processes) is stable (changes < 64 KB over 50 ms) so
%% that memory of processes killed earlier has really been freed. Gives up
%% after ~5 s.
settle_memory() ->
    settle_memory(erlang:memory(processes), 100).

settle_memory(_Prev, 0) ->
    info("   warning: memory did not settle~n", []);
settle_memory(Prev, Tries) ->
    timer:sleep(50),
    Now = erlang:memory(processes),
    case abs(Now - Prev) < 65536 of
        true -> ok;
        false -> settle_memory(Now, Tries - 1)
    end.

%% {memory(total), memory(processes)} minus the calling process's own
%% memory (heap, stack, mailbox, PCB), after a full GC of the caller.
mem_excluding_self() ->
    erlang:garbage_collect(),
    [{total, T}, {processes, P}] = erlang:memory([total, processes]),
    {memory, Self} = erlang:process_info(self(), memory),
    {T - Self, P - Self}.

%% Kill every pid and wait until all are really gone, so memory is
%% released before the next run's baseline.
kill_all(Pids) ->
    Refs = [begin
                Ref = erlang:monitor(process, P),
                exit(P, kill),
                Ref
            end || P <- Pids],
    lists:foreach(fun(Ref) ->
                          receive {'DOWN', Ref, process, _, _} -> ok end
                  end, Refs).

%%====================================================================
%% Workload 4: ping-pong between two processes
%%====================================================================

%% The driver sends {ping, self()}; the ponger replies `pong`.
%% One operation = one round trip (two messages).
pingpong_rt_per_s(Opts) ->
    throughput(Opts, 10000,
               fun(N) ->
                       %% the ponger is spawned outside the timed section
                       Ponger = spawn_link(fun ponger/0),
                       T0 = erlang:monotonic_time(nanosecond),
                       ping_loop(N, Ponger),
                       T1 = erlang:monotonic_time(nanosecond),
                       Ponger ! stop,
                       T1 - T0
               end).

ponger() ->
    receive
        {ping, From} -> From ! pong, ponger();
        stop -> ok
    end.

ping_loop(0, _Ponger) ->
    ok;
ping_loop(N, Ponger) ->
    Ponger ! {ping, self()},
    receive pong -> ok end,
    ping_loop(N - 1, Ponger).

%%====================================================================
%% Workload 5: gen_server:call round trips
%%====================================================================

%% One client process calls a trivial gen_server (handle_call returns
%% {reply, pong, S}) in a loop. One operation = one gen_server:call.
gen_server_call_per_s(Opts) ->
    throughput(Opts, 10000,
               fun(N) ->
                       %% server start/stop are outside the timed section
                       {ok, Server} = gen_server:start(?MODULE, call, []),
                       T0 = erlang:monotonic_time(nanosecond),
                       call_loop(N, Server),
                       T1 = erlang:monotonic_time(nanosecond),
                       gen_server:stop(Server),
                       T1 - T0
               end).

call_loop(0, _Server) ->
    ok;
call_loop(N, Server) ->
    pong = gen_server:call(Server, ping),
    call_loop(N - 1, Server).

%%====================================================================
%% ETS tables
%%====================================================================
%% The "Tables" and "ordered_set" workloads of OTP_FIGURES.md; Steward's
%% side is bench/ets_bench.mjs, which does the same.
%%
%% * Tables of 1,000,000 rows {K, I} (K = I + 1, I = 0..999,999), keys
%%   inserted in order into a fresh public set. Lookups, updates and deletes
%%   visit every key once per pass in the scattered order
%%   k_i = (i * 618033 rem 10^6) + 1, computed incrementally; a miss looks
%%   up k_i + 10^6. Tuple keys are {<<"stream">>, N}, built per operation.
%% * ordered_set: keys inserted in the scattered order; lookup; a first/next
%%   walk; select by a range in guards and by a bound key prefix.
%% * A "pass" is one sweep over the keys (or one select call). Passes per
%%   run are calibrated (and warmed up) as N in calibrate/2; the figure is
%%   the median over ?RUNS runs of the run's time / (passes * operations).
%% * Tables that the passes only read are made once, by the calling
%%   process; each run's passes then run together in a fresh driver process.
%%   Work that changes the table (insert, delete) gets a fresh table before
%%   every pass, in a fresh process, outside the clock.

-define(M, 1000000).
-define(STEP, 618033).

%% Median time per operation in ns of Run(Passes) (which returns elapsed ns).
per_op(#{runs := Runs}, Ops, Run) ->
    P = calibrate(Run, 1),
    Times = [Run(P) / (P * Ops) || _ <- lists:seq(1, Runs)],
    info("   ~b pass(es) per run; ns/op: ~s~n", [P, fmt_list(Times)]),
    round2(median(Times)).

%% Passes that read a table made beforehand: one driver per run.
passes(Pass) ->
    fun(P) ->
            in_fresh_process(
              fun() ->
                      T0 = erlang:monotonic_time(nanosecond),
                      repeat(P, Pass),
                      erlang:monotonic_time(nanosecond) - T0
              end)
    end.

%% Passes that need a fresh table: Setup() and Teardown(Ctx) off the clock.
fresh_passes(Setup, Pass, Teardown) ->
    fun(P) ->
            lists:sum(
              [in_fresh_process(
                 fun() ->
                         Ctx = Setup(),
                         T0 = erlang:monotonic_time(nanosecond),
                         Pass(Ctx),
                         T1 = erlang:monotonic_time(nanosecond),
                         Teardown(Ctx),
                         T1 - T0
                 end) || _ <- lists:seq(1, P)])
    end.

repeat(0, _Fun) -> ok;
repeat(N, Fun) -> Fun(), repeat(N - 1, Fun).

round2(X) -> round(X * 100) / 100.

expect(_What, Same, Same) -> ok;
expect(What, Got, Want) -> error({What, {got, Got}, {expected, Want}}).

new_table(Type) -> ets:new(steward_bench, [Type, public]).

%% Inserts {I + 1, I} for I = From..To-1.
insert_in_order(_T, To, To) -> ok;
insert_in_order(T, I, To) ->
    ets:insert(T, {I + 1, I}),
    insert_in_order(T, I + 1, To).

int_table(Type, N) ->
    T = new_table(Type),
    insert_in_order(T, 0, N),
    T.

%% Inserts {k_i, I} in the scattered order.
insert_scattered(T) -> insert_scattered(T, 0, 0).

insert_scattered(_T, ?M, _R) -> ok;
insert_scattered(T, I, R) ->
    ets:insert(T, {R + 1, I}),
    insert_scattered(T, I + 1, (R + ?STEP) rem ?M).

scattered_oset() ->
    T = new_table(ordered_set),
    insert_scattered(T),
    T.

%% One lookup of every key of 1..Mod (plus Offset) in the scattered order;
%% returns the number of records found.
lookup_pass(T, Mod, Offset) ->
    lookup_pass(T, Mod, ?STEP rem Mod, Offset, 0, 0, 0).

lookup_pass(_T, Mod, _Step, _Off, Mod, _R, Hits) -> Hits;
lookup_pass(T, Mod, Step, Off, I, R, Hits) ->
    H = length(ets:lookup(T, R + 1 + Off)),
    lookup_pass(T, Mod, Step, Off, I + 1, (R + Step) rem Mod, Hits + H).

with_table(T, Fun) ->
    try Fun() after ets:delete(T) end.

set_int_insert_1m(Opts) ->
    per_op(Opts, ?M,
           fresh_passes(fun() -> new_table(set) end,
                        fun(T) -> insert_in_order(T, 0, ?M) end,
                        fun(T) ->
                                expect(size, ets:info(T, size), ?M),
                                ets:delete(T)
                        end)).

set_int_lookup_hit_1m(Opts) ->
    T = int_table(set, ?M),
    with_table(T, fun() ->
        per_op(Opts, ?M, passes(fun() ->
            expect(hits, lookup_pass(T, ?M, 0), ?M)
        end))
    end).

set_int_lookup_miss_1m(Opts) ->
    T = int_table(set, ?M),
    with_table(T, fun() ->
        per_op(Opts, ?M, passes(fun() ->
            expect(hits, lookup_pass(T, ?M, ?M), 0)
        end))
    end).

set_int_lookup_hit_10k(Opts) ->
    T = int_table(set, 10000),
    with_table(T, fun() ->
        per_op(Opts, 10000, passes(fun() ->
            expect(hits, lookup_pass(T, 10000, 0), 10000)
        end))
    end).

set_int_update_counter_1m(Opts) ->
    T = int_table(set, ?M),
    with_table(T, fun() ->
        per_op(Opts, ?M, passes(fun() -> update_pass(T, 0, 0) end))
    end).

update_pass(_T, ?M, _R) -> ok;
update_pass(T, I, R) ->
    ets:update_counter(T, R + 1, {2, 1}),
    update_pass(T, I + 1, (R + ?STEP) rem ?M).

set_int_delete_1m(Opts) ->
    per_op(Opts, ?M,
           fresh_passes(fun() -> int_table(set, ?M) end,
                        fun(T) -> delete_pass(T, 0, 0) end,
                        fun(T) ->
                                expect(size, ets:info(T, size), 0),
                                ets:delete(T)
                        end)).

delete_pass(_T, ?M, _R) -> ok;
delete_pass(T, I, R) ->
    ets:delete(T, R + 1),
    delete_pass(T, I + 1, (R + ?STEP) rem ?M).

%% {{<<"stream">>, N}, N - 1} for N = 1..1M
tuple_insert(_T, ?M) -> ok;
tuple_insert(T, I) ->
    ets:insert(T, {{<<"stream">>, I + 1}, I}),
    tuple_insert(T, I + 1).

set_tuple_lookup_hit_1m(Opts) ->
    T = new_table(set),
    tuple_insert(T, 0),
    with_table(T, fun() ->
        per_op(Opts, ?M, passes(fun() ->
            expect(hits, tuple_lookup_pass(T, 0, 0, 0), ?M)
        end))
    end).

tuple_lookup_pass(_T, ?M, _R, Hits) -> Hits;
tuple_lookup_pass(T, I, R, Hits) ->
    H = length(ets:lookup(T, {<<"stream">>, R + 1})),
    tuple_lookup_pass(T, I + 1, (R + ?STEP) rem ?M, Hits + H).

set_tuple_insert_1m(Opts) ->
    per_op(Opts, ?M,
           fresh_passes(fun() -> new_table(set) end,
                        fun(T) -> tuple_insert(T, 0) end,
                        fun(T) ->
                                expect(size, ets:info(T, size), ?M),
                                ets:delete(T)
                        end)).

oset_insert_1m(Opts) ->
    per_op(Opts, ?M,
           fresh_passes(fun() -> new_table(ordered_set) end,
                        fun(T) -> insert_scattered(T) end,
                        fun(T) ->
                                expect(size, ets:info(T, size), ?M),
                                ets:delete(T)
                        end)).

oset_lookup_hit_1m(Opts) ->
    T = scattered_oset(),
    with_table(T, fun() ->
        per_op(Opts, ?M, passes(fun() ->
            expect(hits, lookup_pass(T, ?M, 0), ?M)
        end))
    end).

%% ns per first/next step
oset_walk_step(Opts) ->
    T = scattered_oset(),
    with_table(T, fun() ->
        per_op(Opts, ?M, passes(fun() ->
            expect(walked, walk(T, ets:first(T), 0), ?M)
        end))
    end).

walk(_T, '$end_of_table', N) -> N;
walk(T, K, N) -> walk(T, ets:next(T, K), N + 1).

%% ms per select of 1,000 of 1M rows by a range in guards (a full scan)
oset_select_range_guard_ms(Opts) ->
    T = scattered_oset(),
    MS = [{{'$1', '_'}, [{'>=', '$1', 500000}, {'<', '$1', 501000}], ['$_']}],
    with_table(T, fun() ->
        round2(per_op(Opts, 1, passes(fun() ->
            expect(rows, length(ets:select(T, MS)), 1000)
        end)) / 1.0e6)
    end).

%% us per select of 1,000 rows by a bound key prefix
oset_select_prefix_us(Opts) ->
    T = new_table(ordered_set),
    prefix_insert(T, 0),
    MS = [{{{500, '_'}, '_'}, [], ['$_']}],
    with_table(T, fun() ->
        round2(per_op(Opts, 1, passes(fun() ->
            expect(rows, length(ets:select(T, MS)), 1000)
        end)) / 1.0e3)
    end).

%% {{I div 1000, I}, I} for I = 0..1M-1
prefix_insert(_T, ?M) -> ok;
prefix_insert(T, I) ->
    ets:insert(T, {{I div 1000, I}, I}),
    prefix_insert(T, I + 1).

%% Bytes per {K, I} row in a set of 1M: ets:info(T, memory) (words) times
%% the word size, and the growth of erlang:memory(ets), which also counts
%% the table's bucket array and locks as the VM allocated them.
set_int_memory_bytes(#{runs := Runs}) ->
    Samples = [in_fresh_process(
                 fun() ->
                         Before = erlang:memory(ets),
                         T = int_table(set, ?M),
                         Words = ets:info(T, memory),
                         After = erlang:memory(ets),
                         ets:delete(T),
                         {Words * erlang:system_info(wordsize) / ?M,
                          (After - Before) / ?M}
                 end) || _ <- lists:seq(1, Runs)],
    [{set_int_memory_bytes, round(median([I || {I, _} <- Samples]))},
     {set_int_memory_ets_bytes, round(median([E || {_, E} <- Samples]))}].

%%====================================================================
%% Supervisors
%%====================================================================
%% The "Supervisors" and "Restart latency" workloads of OTP_FIGURES.md;
%% Steward's side is bench/supervisor_bench.mjs, which does the same.
%%
%% * sup_sofo / sup_ofo: a supervisor (simple_one_for_one / one_for_one,
%%   intensity 1,000,000 per 1 s) gets 100,000 trivial gen_server children
%%   (this module, init/1 returns {ok, state}; permanent, shutdown 5000),
%%   started one after another with supervisor:start_child/2 (each call
%%   returns once the child's init has run). Then the supervisor is stopped
%%   with all of them (gen_server:stop/1, which returns once it is dead).
%%   Reported: children/s of the start loop (sup_*_start_per_s) and the
%%   shutdown's ms (sup_*_shutdown_ms), each the median of ?RUNS runs, every
%%   run a fresh driver and a fresh supervisor.
%% * sup_restart: one permanent child under a one_for_one supervisor
%%   (same flags); the driver reads the clock, kills the child
%%   (exit(Pid, kill)) and waits for the new child's init, which reads the
%%   clock and sends {started, self(), T} to the driver; 10,000 kills back to
%%   back. Reported: the median latency in us of each run's 10,000 kills
%%   (sup_restart_latency_us, median over runs) and their mean
%%   (sup_restart_mean_us). Logging is off meanwhile (the supervisor would
%%   log a report per kill).

-define(SUP_CHILDREN, 100000).
-define(SUP_KILLS, 10000).
-define(SUP_FLAGS(Strategy),
        #{strategy => Strategy, intensity => 1000000, period => 1}).

%% The child spec (ofo: with id N) of a trivial gen_server child.
sup_child_spec(Id, Arg) ->
    #{id => Id,
      start => {gen_server, start_link, [?MODULE, Arg, []]},
      restart => permanent,
      shutdown => 5000,
      type => worker}.

sup_sofo(Opts) ->
    sup_start_stop(Opts, sofo,
                   [sup_child_spec(child, child)],
                   fun(_N) -> [] end).

sup_ofo(Opts) ->
    sup_start_stop(Opts, ofo, [],
                   fun(N) -> sup_child_spec(N, child) end).

%% Runs of: start the supervisor, start_child x100k (timed), stop (timed).
sup_start_stop(#{runs := Runs}, Tag, Specs, ChildArg) ->
    Strategy = case Tag of
                   sofo -> simple_one_for_one;
                   ofo -> one_for_one
               end,
    Samples =
        [in_fresh_process(
           fun() ->
                   {ok, Sup} = supervisor:start_link(
                                 ?MODULE,
                                 {supervisor, ?SUP_FLAGS(Strategy), Specs}),
                   unlink(Sup),
                   T0 = erlang:monotonic_time(nanosecond),
                   sup_start_loop(Sup, ChildArg, 0),
                   T1 = erlang:monotonic_time(nanosecond),
                   expect(children,
                          proplists:get_value(
                            active, supervisor:count_children(Sup)),
                          ?SUP_CHILDREN),
                   T2 = erlang:monotonic_time(nanosecond),
                   ok = gen_server:stop(Sup),
                   T3 = erlang:monotonic_time(nanosecond),
                   {?SUP_CHILDREN * 1.0e9 / (T1 - T0), (T3 - T2) / 1.0e6}
           end) || _ <- lists:seq(1, Runs)],
    Rates = [R || {R, _} <- Samples],
    Stops = [S || {_, S} <- Samples],
    info("   children/s: ~s; shutdown ms: ~s~n",
         [fmt_list(Rates), fmt_list(Stops)]),
    [{list_to_atom("sup_" ++ atom_to_list(Tag) ++ "_start_per_s"),
      round(median(Rates))},
     {list_to_atom("sup_" ++ atom_to_list(Tag) ++ "_shutdown_ms"),
      round(median(Stops))}].

sup_start_loop(_Sup, _ChildArg, ?SUP_CHILDREN) -> ok;
sup_start_loop(Sup, ChildArg, N) ->
    {ok, _} = supervisor:start_child(Sup, ChildArg(N)),
    sup_start_loop(Sup, ChildArg, N + 1).

sup_restart(#{runs := Runs}) ->
    #{level := Level} = logger:get_primary_config(),
    ok = logger:set_primary_config(level, none),
    try
        Samples = [in_fresh_process(fun sup_restart_run/0)
                   || _ <- lists:seq(1, Runs)],
        Medians = [M || {M, _} <- Samples],
        Means = [A || {_, A} <- Samples],
        info("   median us per run: ~s; mean us: ~s~n",
             [fmt_list1(Medians), fmt_list1(Means)]),
        [{sup_restart_latency_us, round2(median(Medians))},
         {sup_restart_mean_us, round2(median(Means))}]
    after
        logger:set_primary_config(level, Level)
    end.

%% Returns {MedianUs, MeanUs} of ?SUP_KILLS kills.
sup_restart_run() ->
    Self = self(),
    {ok, Sup} = supervisor:start_link(
                  ?MODULE,
                  {supervisor, ?SUP_FLAGS(one_for_one),
                   [sup_child_spec(probe, {probe, Self})]}),
    unlink(Sup),
    First = receive {started, P, _} -> P end,
    Lats = sup_kill_loop(First, ?SUP_KILLS, []),
    ok = gen_server:stop(Sup),
    {median(Lats) / 1000, lists:sum(Lats) / length(Lats) / 1000}.

%% Latencies in ns, newest first.
sup_kill_loop(_Pid, 0, Acc) -> Acc;
sup_kill_loop(Pid, N, Acc) ->
    T0 = erlang:monotonic_time(nanosecond),
    exit(Pid, kill),
    receive
        {started, New, T1} -> sup_kill_loop(New, N - 1, [T1 - T0 | Acc])
    end.

fmt_list1(Xs) ->
    lists:join(" ", [float_to_list(X / 1, [{decimals, 1}]) || X <- Xs]).

%%====================================================================
%% Director workloads (compared with Steward's director.ts)
%%====================================================================

-define(KILLS, 10000).

%% Restart latency of a plain one_for_one supervisor (intensity 1,000,000
%% per second, so it never gives up): exit(Child, kill), then the time until
%% the new child's init/1 runs (it sends its monotonic time to the driver).
%% 10,000 kills back to back per run, logging off (no SASL reports); the
%% median of each run, then the median of the runs, in µs.
restart_latency_us(#{runs := Runs}) ->
    #{level := Level} = logger:get_primary_config(),
    ok = logger:set_primary_config(level, none),
    try
        Medians = [in_fresh_process(fun restart_latency_run/0)
                   || _ <- lists:seq(1, Runs)],
        info("   median us per run: ~s~n",
             [lists:join(" ", [float_to_list(M, [{decimals, 2}])
                               || M <- Medians])]),
        median(Medians)
    after
        logger:set_primary_config(level, Level)
    end.

restart_latency_run() ->
    {ok, Sup} = supervisor:start_link(?MODULE, {sup, self()}),
    First = receive {started, P0, _} -> P0 end,
    Lat = kill_loop(?KILLS, First, []),
    unlink(Sup),
    exit(Sup, kill),
    median(Lat) / 1000.

kill_loop(0, _Pid, Acc) ->
    Acc;
kill_loop(N, Pid, Acc) ->
    T0 = erlang:monotonic_time(nanosecond),
    exit(Pid, kill),
    receive
        {started, New, T1} -> kill_loop(N - 1, New, [T1 - T0 | Acc])
    end.

%% A child's pid read from a table without a message, as director 18's
%% lock-free get_pid does: ets:lookup of one row of a 100-row set, and a
%% match of the pid out of it. ns per lookup.
get_pid_ns(Opts) ->
    Rate = throughput(Opts, 100000,
                      fun(N) ->
                              T = ets:new(children, [set, public]),
                              [ets:insert(T, {I, self()})
                               || I <- lists:seq(0, 99)],
                              T0 = erlang:monotonic_time(nanosecond),
                              get_pid_loop(N, T),
                              T1 = erlang:monotonic_time(nanosecond),
                              ets:delete(T),
                              T1 - T0
                      end),
    1.0e9 / Rate.

get_pid_loop(0, _T) ->
    ok;
get_pid_loop(N, T) ->
    [{_, Pid}] = ets:lookup(T, 42),
    true = is_pid(Pid),
    get_pid_loop(N - 1, T).

%%====================================================================
%% gen_server callbacks (trivial server used by workloads 3 and 5)
%%====================================================================

%% Also the supervisor callback (supervisor workloads) and the restart
%% probe, which tells the driver when its init ran.
init({supervisor, Flags, Specs}) -> {ok, {Flags, Specs}};
init({sup, Driver}) ->
    {ok, {#{strategy => one_for_one, intensity => 1000000, period => 1},
          [#{id => child,
             start => {gen_server, start_link,
                       [?MODULE, {notify, Driver}, []]}}]}};
init({probe, Driver}) ->
    Driver ! {started, self(), erlang:monotonic_time(nanosecond)},
    {ok, state};
init({notify, Driver}) ->
    Driver ! {started, self(), erlang:monotonic_time(nanosecond)},
    {ok, state};
init(_Arg) -> {ok, state}.

handle_call(_Req, _From, S) -> {reply, pong, S}.

handle_cast(_Msg, S) -> {noreply, S}.

handle_info(_Msg, S) -> {noreply, S}.

%%====================================================================
%% Throughput harness
%%====================================================================

%% throughput(Opts, N0, Timed): Timed(N) performs N operations and returns
%% the elapsed nanoseconds of the operations only (setup/teardown such as
%% spawning a partner or starting a server stays outside the clock).
%% Each call of Timed runs in a fresh driver process.
throughput(#{runs := Runs}, N0, Timed) ->
    Run = fun(N) -> in_fresh_process(fun() -> Timed(N) end) end,
    N = calibrate(Run, N0),
    Rates = [begin
                 Ns = Run(N),
                 N * 1.0e9 / Ns
             end || _ <- lists:seq(1, Runs)],
    info("   N=~b per run; rates: ~s~n", [N, fmt_list(Rates)]),
    round(median(Rates)).

%% Wrap a loop Loop(N) with no setup: the clock is read once before and
%% once after the whole loop.
timed(Loop) ->
    fun(N) ->
            T0 = erlang:monotonic_time(nanosecond),
            Loop(N),
            erlang:monotonic_time(nanosecond) - T0
    end.

%% Grow N (x10, or proportionally once measurable) until a run takes at
%% least ?CALIBRATE_MIN_NS, then scale N to hit ?TARGET_NS. The calibration
%% runs double as warm-up.
calibrate(Run, N) ->
    Ns = Run(N),
    if
        Ns < ?CALIBRATE_MIN_NS ->
            Factor = min(10, max(2, ?CALIBRATE_MIN_NS * 2 div max(Ns, 1))),
            calibrate(Run, N * Factor);
        true ->
            max(1, round(N * ?TARGET_NS / Ns))
    end.

%%====================================================================
%% Helpers
%%====================================================================

%% Run Fun in a new process and return its result (re-raising crashes).
in_fresh_process(Fun) ->
    Parent = self(),
    {Pid, Ref} = spawn_opt(
                   fun() ->
                           Result = try {ok, Fun()}
                                    catch C:R:S -> {error, C, R, S}
                                    end,
                           Parent ! {self(), Result}
                   end,
                   [monitor, {min_heap_size, ?DRIVER_HEAP_WORDS}]),
    receive
        {Pid, {ok, Value}} ->
            erlang:demonitor(Ref, [flush]),
            Value;
        {Pid, {error, C, R, S}} ->
            erlang:demonitor(Ref, [flush]),
            erlang:raise(C, R, S);
        {'DOWN', Ref, process, Pid, Reason} ->
            error({driver_died, Reason})
    end.

median(Xs) ->
    Sorted = lists:sort(Xs),
    Len = length(Sorted),
    case Len rem 2 of
        1 -> lists:nth(Len div 2 + 1, Sorted);
        0 -> (lists:nth(Len div 2, Sorted) + lists:nth(Len div 2 + 1, Sorted)) / 2
    end.

%% The default logger handler writes to stdout; stdout is reserved for the
%% JSON result, so send any log events (e.g. crash reports) to stderr.
log_to_stderr() ->
    _ = logger:remove_handler(default),
    ok = logger:add_handler(default, logger_std_h,
                            #{config => #{type => standard_error}}).

info(Fmt, Args) ->
    io:format(standard_error, Fmt, Args).

to_list(A) when is_atom(A) -> atom_to_list(A);
to_list(L) when is_list(L) -> L;
to_list(B) when is_binary(B) -> binary_to_list(B).

fmt_num(X) when is_integer(X) -> integer_to_list(X);
fmt_num(X) when is_float(X) -> float_to_list(X, [{decimals, 1}]).

fmt_list(Xs) -> lists:join(" ", [fmt_num(round(X)) || X <- Xs]).

%%--------------------------------------------------------------------
%% Minimal JSON encoding for a flat object (OTP 25 has no json module).
%% Values: integers, floats, binaries (strings), atoms.
%%--------------------------------------------------------------------

json_object(Pairs) ->
    ["{", lists:join(",", [[json_string(atom_to_binary(K)), ":", json_value(V)]
                           || {K, V} <- Pairs]), "}"].

json_value(V) when is_integer(V) -> integer_to_list(V);
json_value(V) when is_float(V) -> float_to_list(V, [short]);
json_value(true) -> "true";
json_value(false) -> "false";
json_value(null) -> "null";
json_value(V) when is_atom(V) -> json_string(atom_to_binary(V));
json_value(V) when is_binary(V) -> json_string(V).

json_string(B) ->
    [$", [json_char(C) || <<C/utf8>> <= B], $"].

json_char($") -> "\\\"";
json_char($\\) -> "\\\\";
json_char(C) when C < 16#20 -> io_lib:format("\\u~4.16.0b", [C]);
json_char(C) -> <<C/utf8>>.
