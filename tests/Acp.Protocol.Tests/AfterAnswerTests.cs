using System.Text.Json;
using Acp.Protocol.JsonRpc;

namespace Acp.Protocol.Tests;

/// <summary><see cref="JsonRpcPeer.AfterAnswer"/>: what a handler leaves for after its answer is written after it.</summary>
public sealed class AfterAnswerTests
{
    private static readonly TestJsonContext s_json = TestJsonContext.Default;

    [Fact]
    public async Task What_follows_an_answer_is_written_after_it_and_what_the_handler_sent_before()
    {
        await using var peer = new RawPeer(c => c.AddRequestHandler<EchoParams, EchoResult>("open", s_json.EchoParams, s_json.EchoResult, (p, context, _) =>
        {
            c.AfterAnswer(context.Id!.Value, () => c.Notify("opened", new EchoParams("after"), s_json.EchoParams));
            c.Notify("progress", new EchoParams("during"), s_json.EchoParams);
            return ValueTask.FromResult(new EchoResult(p.Text));
        }));

        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":3,"method":"open","params":{"text":"s1"}}""");

        JsonElement during = await peer.ReceiveAsync();
        JsonElement answer = await peer.ReceiveAsync();
        JsonElement after = await peer.ReceiveAsync();
        Assert.Equal("progress", during.GetProperty("method").GetString());
        Assert.Equal(3, answer.GetProperty("id").GetInt32());
        Assert.Equal("s1", answer.GetProperty("result").GetProperty("text").GetString());
        Assert.Equal("opened", after.GetProperty("method").GetString());
        Assert.Equal("after", after.GetProperty("params").GetProperty("text").GetString());
    }

    [Fact]
    public async Task After_an_answer_already_written_it_runs_at_once()
    {
        RequestId? answered = null;
        await using var peer = new RawPeer(c => c.AddRequestHandler<EchoParams, EchoResult>("open", s_json.EchoParams, s_json.EchoResult, (p, context, _) =>
        {
            answered = context.Id;
            return ValueTask.FromResult(new EchoResult(p.Text));
        }));
        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":4,"method":"open","params":{"text":"s2"}}""");
        Assert.Equal(4, (await peer.ReceiveAsync()).GetProperty("id").GetInt32());

        peer.Connection.AfterAnswer(answered!.Value, () => peer.Connection.Notify("late", new EchoParams("now"), s_json.EchoParams));

        Assert.Equal("late", (await peer.ReceiveAsync()).GetProperty("method").GetString());
    }
}
