using System.Text;
using Acp.Protocol.JsonRpc;

namespace Acp.Protocol.Tests;

public sealed class DirectNotificationsTests
{
    [Theory]
    [InlineData("""{"jsonrpc":"2.0","method":"note","params":{"text":"a"}}""", """{"text":"a"}""")]
    [InlineData("""{ "params" : {"text":"a","n":[1,{"x":null}]} , "method" : "n\u006fte" , "jsonrpc" : "2.0" } """, """{"text":"a","n":[1,{"x":null}]}""")]
    public void A_notification_of_a_known_method_is_read_with_its_params(string frame, string parameters)
    {
        var direct = new DirectNotifications();
        Action<ReadOnlySpan<byte>> note = _ => { };
        direct.Add("other", _ => { });
        direct.Add("note", note);
        byte[] bytes = Encoding.UTF8.GetBytes(frame);

        Assert.True(direct.TryRead(bytes, out Action<ReadOnlySpan<byte>>? handler, out Range range));
        Assert.Same(note, handler);
        Assert.Equal(parameters, Encoding.UTF8.GetString(bytes.AsSpan()[range]));
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","method":"unknown","params":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"note","params":{}}""")]
    [InlineData("""{"jsonrpc":"1.0","method":"note","params":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","method":"note"}""")]
    [InlineData("""{"jsonrpc":"2.0","method":"note","params":[1]}""")]
    [InlineData("""{"jsonrpc":"2.0","method":"note","params":{},"params":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","method":"note","method":"note","params":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","method":"note","params":{},"extra":1}""")]
    [InlineData("""{"jsonrpc":"2.0","method":"note","params":{}} {}""")]
    [InlineData("""{"jsonrpc":"2.0","method":"note","params":{"a":}""")]
    [InlineData("""[{"jsonrpc":"2.0","method":"note","params":{}}]""")]
    [InlineData("not json")]
    public void Anything_else_is_left_to_the_general_path(string frame)
    {
        var direct = new DirectNotifications();
        direct.Add("note", _ => { });

        Assert.False(direct.TryRead(Encoding.UTF8.GetBytes(frame), out _, out _));
    }

    [Fact]
    public void Invalid_utf8_in_the_method_is_left_to_the_general_path()
    {
        var direct = new DirectNotifications();
        direct.Add("note", _ => { });
        byte[] frame = [.. """{"jsonrpc":"2.0","method":"no"""u8, 0xFF, .. """te","params":{}}"""u8];

        Assert.False(direct.TryRead(frame, out _, out _));
    }
}
