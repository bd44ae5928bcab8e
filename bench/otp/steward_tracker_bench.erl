%%% steward_tracker_bench: the Erlang/OTP half of the tracker benchmarks
%%% (the "Tracker" workload of OTP_FIGURES.md); Steward's half is
%%% bench/tracker_bench.mjs. Called by steward_bench (group `tracker`).
%%%
%%% The tracker is gen_tracker's find_or_open, reduced to what that path
%%% does: the caller looks the name up in the tracker's public named ETS
%%% table (gen_tracker's #entry record, keyed by name); on a miss it calls
%%% the tracker, which looks again, starts a temporary child under a
%%% simple_one_for_one supervisor, monitors it and records it. A child is
%%% a trivial gen_server. Names are {<<"stream">>, N}, built per operation.
%%%
%%% Workloads (each run: a fresh supervisor and tracker with 10,000
%%% children opened beforehand, outside the clock; torn down after):
%%%   tracker_find_hit_ns           find/2 of an open name (scattered order)
%%%   tracker_find_or_open_hit_ns   find_or_open/2 of an open name
%%%   tracker_find_or_open_mixed_ns find_or_open/2, every 10th a new name
%%%   tracker_open_ns               find_or_open/2 of a new name every time
%%% Figures are ns per operation: the median of the runs, each of about
%%% 1.2 s (the operation count is calibrated first, as steward_bench does).

-module(steward_tracker_bench).

-export([workloads/0]).
%% supervisor, gen_server and child callbacks
-export([init/1, handle_call/3, handle_cast/2, handle_info/2,
         start_child/1]).

-define(ZONE, steward_tracker_zone).
-define(OPEN, 10000).
-define(STEP, 7919).
-define(TARGET_NS, 1200000000).
-define(CALIBRATE_MIN_NS, 100000000).

%% gen_tracker's entry record (src/gen_tracker.erl).
-record(entry, {name, ref, mfa, restart_type, child_type, mods,
                restart_timer, restart_delay, shutdown, sub_pid, pid}).

workloads() ->
    [{tracker_find_hit_ns, fun(O) -> per_op(O, fun find_loop/2) end},
     {tracker_find_or_open_hit_ns, fun(O) -> per_op(O, fun hit_loop/2) end},
     {tracker_find_or_open_mixed_ns,
      fun(O) -> per_op(O, fun mixed_loop/2) end},
     {tracker_open_ns, fun(O) -> per_op(O, fun open_loop/2) end}].

%%====================================================================
%% The tracker (gen_tracker's find_or_open path)
%%====================================================================

find(Zone, Name) ->
    case ets:lookup(Zone, Name) of
        [#entry{pid = Pid}] when is_pid(Pid) -> {ok, Pid};
        _ -> undefined
    end.

find_or_open(Zone, Name) ->
    case ets:lookup(Zone, Name) of
        [#entry{pid = Pid}] when is_pid(Pid) -> {ok, Pid};
        _ -> gen_server:call(Zone, {find_or_open, Name}, 60000)
    end.

init({tracker, Sup}) ->
    process_flag(trap_exit, true),
    ?ZONE = ets:new(?ZONE, [public, named_table, {keypos, #entry.name},
                            {read_concurrency, true}]),
    {ok, Sup};
init(sup) ->
    {ok, {#{strategy => simple_one_for_one, intensity => 1000000,
            period => 1},
          [#{id => stream, start => {?MODULE, start_child, []},
             restart => temporary, shutdown => 5000}]}};
init(child) ->
    {ok, child}.

handle_call({find_or_open, Name}, _From, Sup) ->
    case ets:lookup(?ZONE, Name) of
        [#entry{pid = Pid}] when is_pid(Pid) ->
            {reply, {ok, Pid}, Sup};
        [] ->
            {ok, Pid} = supervisor:start_child(Sup, [Name]),
            Ref = erlang:monitor(process, Pid),
            ets:insert(?ZONE, #entry{name = Name, ref = Ref,
                                     mfa = {?MODULE, start_child, [Name]},
                                     restart_type = temporary,
                                     child_type = worker, mods = [],
                                     shutdown = 5000, sub_pid = Pid,
                                     pid = Pid}),
            {reply, {ok, Pid}, Sup}
    end.

handle_cast(_Msg, S) -> {noreply, S}.

handle_info({'DOWN', _Ref, process, Pid, _}, S) ->
    ets:match_delete(?ZONE, #entry{pid = Pid, _ = '_'}),
    {noreply, S};
handle_info(_Msg, S) ->
    {noreply, S}.

start_child(_Name) ->
    gen_server:start_link(?MODULE, child, []).

%%====================================================================
%% Loops: Loop(N, Next) does N operations; Next is the first new name
%%====================================================================

name(I) -> {<<"stream">>, I}.

%% Open names 0..?OPEN-1, visited in a scattered order.
scattered(I) -> (I * ?STEP) rem ?OPEN.

find_loop(N, _Next) -> find_loop(N).
find_loop(0) -> ok;
find_loop(N) ->
    {ok, _} = find(?ZONE, name(scattered(N))),
    find_loop(N - 1).

hit_loop(N, _Next) -> hit_loop(N).
hit_loop(0) -> ok;
hit_loop(N) ->
    {ok, _} = find_or_open(?ZONE, name(scattered(N))),
    hit_loop(N - 1).

mixed_loop(0, _Next) -> ok;
mixed_loop(N, Next) when N rem 10 =:= 0 ->
    {ok, _} = find_or_open(?ZONE, name(Next)),
    mixed_loop(N - 1, Next + 1);
mixed_loop(N, Next) ->
    {ok, _} = find_or_open(?ZONE, name(scattered(N))),
    mixed_loop(N - 1, Next).

open_loop(0, _Next) -> ok;
open_loop(N, Next) ->
    {ok, _} = find_or_open(?ZONE, name(Next)),
    open_loop(N - 1, Next + 1).

%%====================================================================
%% Harness
%%====================================================================

%% One run: a fresh tracker with ?OPEN children, Loop(N) timed, teardown.
%% Returns the elapsed ns of the loop only.
run(Loop, N) ->
    in_fresh_process(
      fun() ->
              process_flag(trap_exit, true),
              {ok, Sup} = supervisor:start_link(?MODULE, sup),
              {ok, Tracker} = gen_server:start_link({local, ?ZONE}, ?MODULE,
                                                    {tracker, Sup}, []),
              [{ok, _} = find_or_open(?ZONE, name(I))
               || I <- lists:seq(0, ?OPEN - 1)],
              T0 = erlang:monotonic_time(nanosecond),
              Loop(N, ?OPEN),
              T1 = erlang:monotonic_time(nanosecond),
              unlink(Tracker),
              gen_server:stop(Tracker),
              unlink(Sup),
              Ref = erlang:monitor(process, Sup),
              exit(Sup, shutdown),
              receive {'DOWN', Ref, process, Sup, _} -> ok end,
              T1 - T0
      end).

per_op(#{runs := Runs}, Loop) ->
    N = calibrate(Loop, 1000),
    Times = [run(Loop, N) / N || _ <- lists:seq(1, Runs)],
    io:format(standard_error, "   N=~b per run; ns/op: ~s~n",
              [N, lists:join(" ", [io_lib:format("~.1f", [T])
                                   || T <- Times])]),
    round(median(Times) * 100) / 100.

calibrate(Loop, N) ->
    Ns = run(Loop, N),
    if
        Ns < ?CALIBRATE_MIN_NS ->
            Factor = min(10, max(2, ?CALIBRATE_MIN_NS * 2 div max(Ns, 1))),
            calibrate(Loop, N * Factor);
        true ->
            max(1, round(N * ?TARGET_NS / Ns))
    end.

in_fresh_process(Fun) ->
    Parent = self(),
    {Pid, Ref} = spawn_opt(
                   fun() ->
                           Result = try {ok, Fun()}
                                    catch C:R:S -> {error, C, R, S}
                                    end,
                           Parent ! {self(), Result}
                   end,
                   [monitor, {min_heap_size, 10000}]),
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
        0 -> (lists:nth(Len div 2, Sorted)
              + lists:nth(Len div 2 + 1, Sorted)) / 2
    end.
